import { buildAppContext } from '../app/build-context';
import { readServiceConfig } from '../config';
import { createApiHandler } from '../http/handler';

/** Lambda entry of the HTTP API: configuration and clients are built once per container. */
export const handler = createApiHandler(buildAppContext(readServiceConfig()));
