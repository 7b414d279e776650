import type { Command } from 'commander';
import type { Io } from '../runtime';

export function registerManageCommands(_program: Command, _io: Io): void {}
