import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../functions/local/dynamodb-local';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's shared in-memory DynamoDB Local; tests isolate themselves by table name. */
    dynamodbEndpoint: string;
  }
}

/** vitest globalSetup: one DynamoDB Local for the whole run, so test files do not each pay the JVM start. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ddb = await startDynamoDbLocal({ inMemory: true });
  project.provide('dynamodbEndpoint', ddb.endpoint);
  return () => ddb.stop();
}
