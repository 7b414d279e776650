import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

/**
 * Every attribute name and value of every item in `table`, from a raw Scan, as one text: strings, numbers, and
 * binaries decoded as UTF-8, Latin-1 and base64. What anyone who can Scan the table sees; tests search it for
 * credentials that must not be stored.
 */
export async function tableText(db: Pick<DynamoDBClient, 'send'>, table: string): Promise<string> {
  const parts: string[] = [];
  const walk = (v: AttributeValue | undefined): void => {
    if (!v) return;
    if (v.S !== undefined) parts.push(v.S);
    if (v.N !== undefined) parts.push(v.N);
    if (v.B !== undefined) {
      const b = Buffer.from(v.B);
      parts.push(b.toString('utf8'), b.toString('latin1'), b.toString('base64'));
    }
    for (const s of [...(v.SS ?? []), ...(v.NS ?? [])]) parts.push(s);
    for (const b of v.BS ?? []) {
      const buf = Buffer.from(b);
      parts.push(buf.toString('utf8'), buf.toString('latin1'), buf.toString('base64'));
    }
    for (const x of v.L ?? []) walk(x);
    for (const [k, x] of Object.entries(v.M ?? {})) {
      parts.push(k);
      walk(x);
    }
  };
  let start: Record<string, AttributeValue> | undefined;
  for (let page = 0; ; page++) {
    if (page >= 1000) throw new Error(`tableText: more than 1000 pages in ${table}`);
    const out = await db.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) walk({ M: item });
    start = out.LastEvaluatedKey;
    if (!start) break;
  }
  return parts.join('\n');
}
