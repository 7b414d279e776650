import type { ServiceConfig } from '../config';
import { createDocumentClient } from '../store/dynamodb-client';
import { noTracing, type Tracing } from '../telemetry/tracing';

/** The DynamoDB document client of the configured endpoint and region (its calls traced where `tracing` traces). */
export function documentClient(cfg: ServiceConfig, tracing: Tracing = noTracing) {
  return tracing.client(
    createDocumentClient({
      ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT } : {}),
      ...(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
    }),
  );
}
