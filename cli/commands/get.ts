import type { Command } from 'commander';
import type { Io } from '../runtime';

export function registerGetCommands(_program: Command, _io: Io): void {}
