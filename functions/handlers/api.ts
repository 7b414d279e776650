import { buildAppContext } from '../app/build-context';
import { readServiceConfig } from '../config';
import { createApiHandler, jsonLogger } from '../http/handler';

/** Lambda entry of the HTTP API: configuration and clients are built once per container. */
const config = readServiceConfig();
export const handler = createApiHandler(buildAppContext(config), jsonLogger(config.LOG_LEVEL));
