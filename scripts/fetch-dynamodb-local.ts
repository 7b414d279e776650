/** `npm run dynamodb-local`: checks Java and fetches DynamoDB Local into the cache, printing its directory. */
import { checkJava, ensureDynamoDbLocal } from '../functions/local/dynamodb-local';

try {
  await checkJava();
  console.log(await ensureDynamoDbLocal());
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
