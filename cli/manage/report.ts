import { CliError, ServerError } from '../errors';
import type { Io } from '../runtime';

/**
 * Failures of commands that act on many objects, reported as kubectl reports them: each failure once, on
 * stderr, the others still processed, exit 1 at the end. The last failure is thrown (and printed by `run`), the
 * earlier ones are printed as they happen.
 */

const HINTS: Record<string, string> = {
  Unauthorized: 'Log in again: isctl login --server <url> --token <token>',
  Forbidden:
    'Ask an admin of the project for a role binding (isctl policy add-role-to-user), or check the project',
};

/**
 * A server refusal as one message: `Error from server (Reason): error when <doing> "<source>": <message>`.
 * Invalid objects list every field path the server named, one per line.
 */
export function describeFailure(e: unknown, doing?: string, source?: string): string {
  const where = doing ? `error when ${doing}${source ? ` "${source}"` : ''}: ` : '';
  if (e instanceof ServerError) {
    const status = e.status;
    const reason = status?.reason || `HTTP ${e.httpStatus}`;
    let message = status?.message || e.message.replace(/^Error from server \([^)]*\): /, '');
    const causes = status?.details?.causes ?? [];
    if (reason === 'Invalid' && causes.length > 1) {
      const head = message.split(' is invalid: ')[0];
      message = `${head} is invalid:${causes.map((c) => `\n* ${c.field ? `${c.field}: ` : ''}${c.message ?? ''}`).join('')}`;
    }
    const hint = status?.reason ? HINTS[status.reason] : undefined;
    return `Error from server (${reason}): ${where}${message}${hint ? `\n${hint}` : ''}`;
  }
  const message = (e as Error)?.message ?? String(e);
  return `${where}${message}`;
}

export class Failures {
  private pending: string | undefined;
  count = 0;

  constructor(private readonly io: Io) {}

  add(message: string): void {
    if (this.pending !== undefined) this.print(this.pending);
    this.pending = message;
    this.count++;
  }

  private print(message: string): void {
    this.io.err(message.startsWith('Error from server') ? message : `error: ${message}`);
  }

  /** Throws the last failure (exit 1) if there was any. */
  finish(): void {
    if (this.pending !== undefined) throw new CliError(this.pending);
  }
}
