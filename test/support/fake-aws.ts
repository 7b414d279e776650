import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AWS API call the fake endpoint answered: the JSON protocol's target (`AWSEvents.PutEvents`) and body. */
export interface RecordedCall {
  target: string;
  body: Record<string, any>;
  authorization: string | undefined;
}

/**
 * A loopback HTTP server standing in for the AWS services the functions call over the JSON protocols (SQS,
 * EventBridge, KMS, Secrets Manager), recording every call: point the SDK at it with AWS_ENDPOINT_URL_<SERVICE>.
 * KMS data keys are real random keys, and Decrypt returns the key GenerateDataKey wrapped, so sealing and opening
 * secrets work end to end. Everything else under the same server is `registry` (a registry's HTTP API for imports).
 */
export async function startFakeAws(opts: {
  secrets?: Record<string, string>;
  registry?: (req: IncomingMessage, res: ServerResponse) => void;
}) {
  const calls: RecordedCall[] = [];
  const dataKeys = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const target = req.headers['x-amz-target'];
    if (typeof target !== 'string') {
      if (opts.registry) opts.registry(req, res);
      else res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      calls.push({ target, body, authorization: req.headers.authorization });
      const answer = (status: number, out: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(out));
      };
      switch (target) {
        case 'AmazonSQS.SendMessageBatch':
          return answer(200, {
            Successful: body.Entries.map((e: { Id: string; MessageBody: string }) => ({
              Id: e.Id,
              MessageId: randomUUID(),
              MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
            })),
            Failed: [],
          });
        case 'AmazonSQS.SendMessage':
          return answer(200, {
            MessageId: randomUUID(),
            MD5OfMessageBody: createHash('md5').update(body.MessageBody).digest('hex'),
          });
        case 'AWSEvents.PutEvents':
          return answer(200, {
            FailedEntryCount: 0,
            Entries: body.Entries.map(() => ({ EventId: randomUUID() })),
          });
        case 'TrentService.GenerateDataKey': {
          const key = randomBytes(32);
          const wrapped = randomBytes(48).toString('base64');
          dataKeys.set(wrapped, key);
          return answer(200, {
            KeyId: body.KeyId,
            Plaintext: key.toString('base64'),
            CiphertextBlob: wrapped,
          });
        }
        case 'TrentService.Decrypt': {
          const key = dataKeys.get(body.CiphertextBlob);
          if (!key) return answer(400, { __type: 'InvalidCiphertextException', message: 'unknown blob' });
          return answer(200, { KeyId: body.KeyId, Plaintext: key.toString('base64') });
        }
        case 'secretsmanager.GetSecretValue': {
          const value = opts.secrets?.[body.SecretId];
          if (value === undefined)
            return answer(400, { __type: 'ResourceNotFoundException', message: 'no such secret' });
          return answer(200, { ARN: body.SecretId, Name: 'secret', SecretString: value });
        }
        default:
          return answer(400, { __type: 'UnknownOperationException', message: target });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    calls,
    /** Every plaintext data key handed out (as the SDK received them, base64). */
    dataKeys: () => [...dataKeys.values()].map((k) => k.toString('base64')),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
