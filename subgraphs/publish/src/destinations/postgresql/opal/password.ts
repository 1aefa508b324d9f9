import { randomInt } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** The special characters OPAL's password rule counts (SubjectCredentialsServiceImpl.PWD_PATTERN). */
const SPECIAL = '@#$%^&+=!';
const ALL = LOWER + UPPER + DIGITS + SPECIAL;

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)]!;
}

/**
 * A random password OPAL accepts: `length` (8 to 64) characters from a
 * cryptographic generator, with at least one lower-case letter, upper-case
 * letter, digit and special character, no white space. 32 characters from 71
 * symbols is about 196 bits.
 */
export function generatePassword(length = 32): string {
  if (length < 8 || length > 64) throw new RangeError('OPAL passwords are 8 to 64 characters long');
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SPECIAL)];
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
