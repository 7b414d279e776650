/**
 * DynamoDB Local (AWS's own emulator) for local mode and the tests: fetched once into a cache, started as a
 * child process listening on a loopback address only, and given the table from the shared definition.
 *
 * The emulator jar is taken from the npm package amplify-dynamodb-simulator (its `emulator/` folder is the
 * unmodified DynamoDB Local distribution), so `npm pack` is the only download channel we need.
 *
 * DynamoDB Local accepts any credentials, and its own entry point (`java -jar DynamoDBLocal.jar`) has no
 * bind-address option: it listens on every interface, so anyone on the network could read the table. It is
 * therefore started through Jetty's XmlConfiguration (jetty-xml ships in DynamoDBLocal_lib), which builds the same
 * objects `ServerRunner.createServer` does from a short XML description ({@link loopbackLaunchXml}) but with a
 * Jetty connector bound to 127.0.0.1. That needs nothing but the jar and a Java runtime: no compiler, no class
 * file of ours.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../store/table-definition';

const PACKAGE = 'amplify-dynamodb-simulator';
const PACKAGE_VERSION = '2.9.30';
const JAR = 'DynamoDBLocal.jar';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export const JAVA_INSTALL_HINT =
  'DynamoDB Local needs a Java 17+ runtime: install it with `apt-get install -y openjdk-17-jre-headless` ' +
  "(Debian/Ubuntu) or your platform's JDK 17 package";

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Where the data lives across restarts; without it the instance runs in memory. */
  dataDir?: string;
  inMemory?: boolean;
  /** 0 or unset: a free port is picked. */
  port?: number;
  /** The loopback address it listens on, and clients use: `127.0.0.1` (default), another 127/8 address, or `::1`. */
  host?: string;
}

/**
 * The directory holding DynamoDBLocal.jar: `$DYNAMODB_LOCAL_DIR` if set, else `<cacheDir>/<version>/`
 * (cacheDir defaults to `<repo>/.cache/dynamodb-local`), downloaded on first use.
 */
export async function ensureDynamoDbLocal(opts: { cacheDir?: string } = {}): Promise<string> {
  const override = process.env.DYNAMODB_LOCAL_DIR;
  if (override) {
    const dir = resolve(override);
    if (!existsSync(join(dir, JAR))) throw new Error(`DYNAMODB_LOCAL_DIR=${override} holds no ${JAR}`);
    return dir;
  }
  const dir = resolve(opts.cacheDir ?? join(REPO_ROOT, '.cache', 'dynamodb-local'), PACKAGE_VERSION);
  if (existsSync(join(dir, JAR))) return dir;

  // Extract next to the destination (same filesystem) and rename: the directory appears complete or not at
  // all, so concurrent callers never see a partial tree. If two race, the loser's rename fails and it uses
  // the winner's copy.
  await mkdir(dirname(dir), { recursive: true });
  const work = await mkdtemp(join(dirname(dir), `.download-${PACKAGE_VERSION}-`));
  try {
    await run(
      'npm',
      ['pack', `${PACKAGE}@${PACKAGE_VERSION}`, '--ignore-scripts', '--pack-destination', work],
      {
        cwd: work,
      },
    );
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${PACKAGE}@${PACKAGE_VERSION} produced no tarball`);
    await run('tar', ['-xzf', tarball, 'package/emulator'], { cwd: work });
    const extracted = join(work, 'package', 'emulator');
    if (!existsSync(join(extracted, JAR)))
      throw new Error(`${PACKAGE}@${PACKAGE_VERSION} holds no emulator/${JAR}`);
    await rename(extracted, dir).catch((err: NodeJS.ErrnoException) => {
      if (!['ENOTEMPTY', 'EEXIST', 'EPERM'].includes(err.code ?? '')) throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (!existsSync(join(dir, JAR))) throw new Error(`DynamoDB Local download incomplete: no ${JAR} in ${dir}`);
  return dir;
}

/** Throws with an install hint unless `java` on the PATH is version 17 or newer. */
export async function checkJava(): Promise<void> {
  let output: string;
  try {
    // `java -version` prints on stderr.
    output = (await run('java', ['-version'])).stderr;
  } catch (err) {
    throw new Error(`${JAVA_INSTALL_HINT} (running \`java -version\` failed: ${(err as Error).message})`);
  }
  // `version "17.0.15"`, `version "21"`, or the pre-9 scheme `version "1.8.0_402"`.
  const m = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : Number.NaN;
  if (!(major >= 17)) {
    throw new Error(`${JAVA_INSTALL_HINT} (found: ${output.split('\n')[0]?.trim() || 'unknown version'})`);
  }
}

/** Starts DynamoDB Local and resolves once it answers ListTables. */
export async function startDynamoDbLocal(opts: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  if (opts.inMemory && opts.dataDir)
    throw new Error('startDynamoDbLocal: give dataDir or inMemory, not both');
  await checkJava();
  const dir = await ensureDynamoDbLocal();
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host))
    throw new Error(`startDynamoDbLocal: host ${host} is not a loopback address (127.0.0.0/8 or ::1)`);

  if (opts.port) {
    if (!(await portIsFree(opts.port)))
      throw new Error(`DynamoDB Local: port ${opts.port} is already in use`);
    return launch(dir, opts.port, host, dataDir);
  }
  // A port we probed can still be taken before the JVM binds it; a fresh pick then almost surely works.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(dir, await freePort(), host, dataDir);
    } catch (err) {
      if (attempt >= 3 || !/BindException|Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

/** A client for a local endpoint; the credentials only need to look valid (the instance runs -sharedDb). */
export function createDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Creates the table from the shared definition unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (createErr) {
      // Another process created it between our describe and create.
      if (!(createErr instanceof ResourceInUseException)) throw createErr;
    }
  }
  // Short delays: DynamoDB Local makes tables ACTIVE at once; the SDK default first retry is 20 s.
  await waitUntilTableExists(
    { client, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
    { TableName: tableName },
  );
  await addMissingIndexes(client, tableName);
}

/** A data dir from an older version lacks indexes added since: they are created in place, data kept. */
async function addMissingIndexes(client: DynamoDBClient, tableName: string): Promise<void> {
  const desired = createTableInput(tableName);
  const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const have = new Set((table.Table?.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  for (const index of desired.GlobalSecondaryIndexes) {
    if (have.has(index.IndexName)) continue;
    const keys = new Set<string>(index.KeySchema.map((k) => k.AttributeName));
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: desired.AttributeDefinitions.filter((a) => keys.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
}

async function launch(
  dir: string,
  port: number,
  host: string,
  dataDir: string | undefined,
): Promise<DynamoDbLocal> {
  // The XML is read once at start; it lives in a directory of its own, removed once the JVM is up or gone.
  const launchDir = await mkdtemp(join(tmpdir(), 'imagestreams-ddb-launch-'));
  const launchXml = join(launchDir, 'dynamodb-local.xml');
  const flags = [
    '-sharedDb',
    // 1.24+ phones home on start; there is no network to reach in tests and nothing to tell.
    '-disableTelemetry',
    '-port',
    String(port),
    ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']),
  ];
  await writeFile(launchXml, loopbackLaunchXml(host, flags), { mode: 0o600 });
  const args = [
    // Local mode, tests and benchmarks run on small machines (CI has 2 cores), where the JVM's optimizing (C2) JIT
    // compiler and parallel GC threads took the cores the service and the registry needed: an import of 200 tags
    // cost DynamoDB Local about 3 s of CPU, against under 1 s with the quick (C1) compiler only and the serial
    // collector, which are also what a short-lived JVM with a small heap wants.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    // DynamoDBLocal.jar's manifest puts DynamoDBLocal_lib/*.jar (jetty-xml among them) on the class path.
    '-cp',
    join(dir, JAR),
    'org.eclipse.jetty.xml.XmlConfiguration',
    launchXml,
  ];
  // setpriv (util-linux) makes the kernel kill java if we die without running any handler (SIGKILL, crash),
  // which the 'exit' hook below cannot cover.
  const [cmd, cmdArgs] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', 'java', ...args]]
    : ['java', args];
  const child = spawn(cmd, cmdArgs, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The telemetry switch DynamoDB Local's request handlers read (TelemetryUtil), besides -disableTelemetry.
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
  });

  let tail = '';
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  // Keep draining after startup too, or a full pipe would block the JVM.
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);

  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<void>((done) => {
    child.once('exit', () => {
      process.off('exit', killOnExit);
      done();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  try {
    await waitReady(endpoint, child, () => spawnError);
  } catch (err) {
    await stop();
    await rm(launchDir, { recursive: true, force: true });
    const output = tail.trim() ? `\n--- DynamoDB Local output (tail) ---\n${tail.trim()}` : '';
    throw new Error(`DynamoDB Local on port ${port} did not start: ${(err as Error).message}${output}`);
  }
  await rm(launchDir, { recursive: true, force: true });
  return { endpoint, port, stop };
}

async function waitReady(endpoint: string, child: ChildProcess, spawnError: () => Error | undefined) {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      const err = spawnError();
      if (err) throw err;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`process exited (${child.exitCode ?? child.signalCode})`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2_000) });
        return;
      } catch (e) {
        lastError = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `not ready after ${READY_TIMEOUT_MS / 1000} s (last error: ${(lastError as Error)?.message})`,
    );
  } finally {
    client.destroy();
  }
}

/**
 * Probes with a wildcard bind, which fails when anything listens on the port on any address: stricter than the
 * loopback bind the emulator makes, so a port found free here is free for it too.
 */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, () => server.close(() => done(true)));
  });
}

function isLoopback(host: string): boolean {
  return (isIPv4(host) && host.startsWith('127.')) || (isIPv6(host) && /^(0*:)*:?0*1$/.test(host));
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const xmlText = (s: string) => s.replace(/[&<>"]/g, (c) => XML_ESCAPES[c]!);

/**
 * A Jetty XmlConfiguration document that starts DynamoDB Local as `ServerRunner.createServer` does (its own
 * CommandLineInput parses `flags`, so -dbPath/-inMemory/-port keep their checks and meaning), but with one Jetty
 * connector bound to `host` instead of `new Server(port)`'s connector on every interface.
 *
 * The server's thread pool is made of daemon threads, and the document ends by starting the server and putting
 * the main thread to sleep for good. If start fails (e.g. the port is taken) the exception ends main, and the JVM
 * exits with the cause on stderr instead of idling on a pool of threads. On SIGTERM the shutdown hook
 * (stopAtShutdown) stops the server and the JVM ends; main never returns to XmlConfiguration, which would start
 * a stopped server again.
 */
export function loopbackLaunchXml(host: string, flags: string[]): string {
  const pkg = 'com.amazonaws.services.dynamodbv2.local';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Jetty resolves this DTD from the jetty-xml jar itself; nothing is fetched. -->
<!DOCTYPE Configure PUBLIC "-//Jetty//Configure//EN" "http://www.eclipse.org/jetty/configure_9_3.dtd">
<Configure id="server" class="org.eclipse.jetty.server.Server">
  <Get name="threadPool"><Set name="daemon" type="boolean">true</Set></Get>
  <Set name="stopAtShutdown" type="boolean">true</Set>
  <New id="input" class="${pkg}.main.CommandLineInput">
    <Arg><Array type="java.lang.String">${flags.map((f) => `<Item>${xmlText(f)}</Item>`).join('')}</Array></Arg>
    <Call name="init"/>
    <Call id="port" name="getPort"/>
    <Call id="inMemory" name="isInMemory"/>
    <Call id="dbPath" name="getDbPath"/>
    <Call id="sharedDb" name="getSharedDb"/>
    <Call id="delayTransientStatuses" name="shouldDelayTransientStatuses"/>
    <Call id="cors" name="getCorsParams"/>
  </New>
  <Call name="addConnector">
    <Arg>
      <New class="org.eclipse.jetty.server.ServerConnector">
        <Arg><Ref refid="server"/></Arg>
        <Set name="host">${xmlText(host)}</Set>
        <Set name="port"><Ref refid="port"/></Set>
      </New>
    </Arg>
  </Call>
  <Set name="handler">
    <New class="org.eclipse.jetty.server.handler.ContextHandlerCollection">
      <Call name="addHandler">
        <Arg>
          <New class="org.eclipse.jetty.server.handler.ContextHandler">
            <Set name="handler">
              <New class="${pkg}.server.LocalDynamoDBServerHandler">
                <Arg>
                  <New class="${pkg}.server.LocalDynamoDBRequestHandler">
                    <Arg type="int">0</Arg>
                    <Arg type="boolean"><Ref refid="inMemory"/></Arg>
                    <Arg type="java.lang.String"><Ref refid="dbPath"/></Arg>
                    <Arg type="boolean"><Ref refid="sharedDb"/></Arg>
                    <Arg type="boolean"><Ref refid="delayTransientStatuses"/></Arg>
                  </New>
                </Arg>
                <Arg type="java.lang.String"><Ref refid="cors"/></Arg>
              </New>
            </Set>
          </New>
        </Arg>
      </Call>
    </New>
  </Set>
  <Call name="start"/>
  <Call class="java.lang.Thread" name="sleep"><Arg type="long">${Number.MAX_SAFE_INTEGER}</Arg></Call>
</Configure>
`;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(cmd, args, { ...opts, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        fail(new Error(`${cmd} ${args.join(' ')}: ${err.message}${stderr ? `\n${stderr.trim()}` : ''}`));
      else done({ stdout, stderr });
    });
  });
}
