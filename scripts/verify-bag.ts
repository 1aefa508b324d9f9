/** `npm run verify-bag -- <bag folder>`: checks a published BagIt bag as a researcher would. Exit 0 when valid. */
import { validateBag } from './support/bag-validate.js';

const bag = process.argv[2];
if (!bag) {
  console.error('usage: npm run verify-bag -- <bag folder>');
  process.exit(2);
}
const result = await validateBag(bag);
if (result.valid) {
  console.log(`${bag}: valid BagIt bag (${result.files} payload files, ${result.bytes} bytes)`);
} else {
  console.error(`${bag}: INVALID\n${result.problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
