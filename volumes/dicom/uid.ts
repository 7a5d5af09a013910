/**
 * DICOM UIDs for what voxshift writes. Without a registered root we use the UUID-derived form
 * `2.25.<128-bit integer in decimal>` (PS3.5 B.2), which needs no registration and is unique per call.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { VoxshiftError } from '../errors.ts';

/** A fixed UID naming voxshift as the implementation that wrote a file (0002,0012). */
export const IMPLEMENTATION_CLASS_UID = '2.25.229546873012945217361029583811475306347';
export const IMPLEMENTATION_VERSION_NAME = 'VOXSHIFT_0_1';

const UID_MAX = 64;
const UID_SYNTAX = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= UID_MAX && UID_SYNTAX.test(uid);
}

/**
 * A new UID: `2.25.<decimal UUID>` by default, or `<root>.<random decimal>` when an organisation root
 * is given (as many random digits as fit in 64 characters; at least 12 must fit).
 */
export function newUid(root?: string): string {
  if (root === undefined) {
    const hex = randomUUID().replace(/-/g, '');
    return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
  }
  if (!isValidUid(root)) {
    throw new VoxshiftError('INVALID_ARGUMENT', `uidRoot "${root}" is not a valid UID prefix (digits and dots, no leading zeros)`, {
      param: 'uidRoot',
    });
  }
  const room = UID_MAX - root.length - 1;
  if (room < 12) {
    throw new VoxshiftError('INVALID_ARGUMENT', `uidRoot "${root}" is ${root.length} characters; at most ${UID_MAX - 13} leave room for a unique suffix`, {
      param: 'uidRoot',
    });
  }
  let digits = BigInt(`0x${randomBytes(16).toString('hex')}`).toString(10);
  digits = digits.replace(/^0+/, '') || '1';
  return `${root}.${digits.slice(0, Math.min(room, 39))}`;
}
