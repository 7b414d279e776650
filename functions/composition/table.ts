import type { ServiceConfig } from '../config';
import { createDocumentClient } from '../store/dynamodb-client';

/** The DynamoDB document client of the configured endpoint and region. */
export function documentClient(cfg: ServiceConfig) {
  return createDocumentClient({
    ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT } : {}),
    ...(cfg.AWS_REGION ? { region: cfg.AWS_REGION } : {}),
  });
}
