/**
 * How isctl fails. Exit codes (documented in the README):
 *   0  success
 *   1  the operation failed: the server refused it (any Kubernetes Status), an import finished with errors, or the
 *      server could not be reached
 *   2  the command line is wrong (unknown command or flag, missing argument, conflicting flags)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure with a message already worded for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A mistake on the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** A Kubernetes `Status` the server answered with. */
export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    group?: string;
    causes?: Array<{ field?: string; message?: string }>;
  };
}

/** What to do next, for the reasons users meet most. */
const HINTS: Record<string, string> = {
  Unauthorized: 'Log in again: isctl login --server <url> --token <token>',
  Forbidden:
    'Ask an admin of the project for a role binding (isctl policy add-role-to-user), or check the project',
  NotFound: '',
  Conflict: 'Someone changed the object meanwhile; read it again and retry',
  AlreadyExists: '',
};

/** An error answer from the server, shown as `oc` shows them: `Error from server (Reason): message`. */
export class ServerError extends CliError {
  constructor(
    readonly httpStatus: number,
    readonly status: Status | undefined,
    fallback: string,
  ) {
    super(ServerError.format(httpStatus, status, fallback));
    this.name = 'ServerError';
  }

  get reason(): string | undefined {
    return this.status?.reason;
  }

  static format(httpStatus: number, status: Status | undefined, fallback: string): string {
    const reason = status?.reason || `HTTP ${httpStatus}`;
    let text = `Error from server (${reason}): ${status?.message || fallback}`;
    const hint = status?.reason ? HINTS[status.reason] : undefined;
    if (hint) text += `\n${hint}`;
    return text;
  }
}
