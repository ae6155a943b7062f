import { z } from 'zod';

/**
 * What every string the API stores must satisfy: PostgreSQL `text` and `jsonb` cannot hold NUL, and
 * a lone UTF-16 surrogate has no UTF-8 form (it would silently become U+FFFD, so `"s\ud800"` and
 * `"s\ufffd"` would be one id). Returns why a string breaks the rule, or undefined.
 */
export function unstorableReason(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL (\\u0000), which cannot be stored; remove it';
  // With the u flag a surrogate pair is one code point, so this matches lone surrogates only.
  if (/\p{Cs}/u.test(value)) {
    return (
      'must not contain a lone UTF-16 surrogate (\\ud800–\\udfff without its pair), which is not valid Unicode; ' +
      'send well-formed text'
    );
  }
  return undefined;
}

/** A string that can be stored as sent (see {@link unstorableReason}). */
export function storableString() {
  return z.string().superRefine((value, ctx) => {
    const reason = unstorableReason(value);
    if (reason) ctx.addIssue({ code: 'custom', message: reason, input: value });
  });
}

/**
 * True when nothing is left to embed once the text is NFKC-normalised and stripped of spaces,
 * control and format characters. The one rule for every text that is embedded: ingest,
 * `/v1/embeddings`, text search, and the worker (for items accepted before the rule).
 */
export function isBlankText(text: string): boolean {
  // Fast path: NFKC never turns a printable ASCII character into nothing.
  if (/[!-~]/.test(text)) return false;
  return text.normalize('NFKC').replace(/[\p{Cc}\p{Cf}\p{Z}\s]/gu, '') === '';
}

export const BLANK_TEXT_MESSAGE =
  'has nothing left to embed once normalised (only spaces, control or format characters); send some text';

/** A text to embed: storable, and not blank by {@link isBlankText}. */
export function textToEmbed() {
  return storableString().refine((text) => text === '' || !isBlankText(text), {
    message: BLANK_TEXT_MESSAGE,
  });
}

/** Item ids (and the `{id}` path segment that deletes one). */
export const ITEM_ID_MAX_LENGTH = 256;

/** Limits of an item's `metadata`, documented in the API and the README. */
export const METADATA_LIMITS = {
  /** Levels of objects and arrays, the metadata object itself being level 1. */
  depth: 8,
  /** Keys over every level. */
  keys: 256,
  /** UTF-8 bytes of the metadata as JSON. */
  bytes: 16 * 1024,
} as const;

/** Keys that alter an object's prototype when assigned; refused wherever a body names them. */
export const FORBIDDEN_KEY = '__proto__';

export interface MetadataIssue {
  path: (string | number)[];
  message: string;
}

const MAX_ISSUES = 10;

/**
 * Checks metadata against {@link METADATA_LIMITS} and the storable-string rule, iteratively (a
 * body nested 100,000 deep costs nine levels of work, not a stack overflow), before anything
 * serialises it.
 */
export function metadataIssues(metadata: Record<string, unknown>): MetadataIssue[] {
  interface Entry {
    value: unknown;
    parent: Entry | undefined;
    key: string | number;
    depth: number;
  }
  // Paths are built only for an issue: the walk allocates nothing per value but its entry.
  const pathOf = (entry: Entry | undefined): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let e = entry; e?.parent; e = e.parent) path.unshift(e.key);
    return path;
  };
  const issues: MetadataIssue[] = [];
  let keys = 0;
  // An upper bound of the JSON's UTF-8 size (an escape is at most 6 bytes per UTF-16 unit), so
  // ordinary metadata is never serialised just to be measured.
  let bound = 0;
  const stack: Entry[] = [{ value: metadata, parent: undefined, key: '', depth: 1 }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const entry = stack.pop()!;
    const { value, depth, key } = entry;
    bound += 1; // a comma
    if (typeof key === 'string' && entry.parent) {
      bound += 6 * key.length + 3;
      const reason =
        key === FORBIDDEN_KEY
          ? `is refused: it would alter the object's prototype; rename it`
          : unstorableReason(key);
      if (reason)
        issues.push({ path: pathOf(entry.parent), message: `key ${JSON.stringify(key)} ${reason}` });
    }
    if (typeof value === 'string') {
      bound += 6 * value.length + 2;
      const reason = unstorableReason(value);
      if (reason) issues.push({ path: pathOf(entry), message: reason });
      continue;
    }
    if (value === null || typeof value !== 'object') {
      bound += 24;
      continue;
    }
    bound += 2;
    if (depth > METADATA_LIMITS.depth) {
      return [
        {
          path: [],
          message: `is nested deeper than ${METADATA_LIMITS.depth} levels (objects and arrays; the metadata itself is level 1); flatten it`,
        },
      ];
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], parent: entry, key: i, depth: depth + 1 });
      }
      continue;
    }
    const names = Object.keys(value);
    keys += names.length;
    if (keys > METADATA_LIMITS.keys) {
      return [{ path: [], message: `has more than ${METADATA_LIMITS.keys} keys over all its levels` }];
    }
    for (let i = names.length - 1; i >= 0; i--) {
      const key = names[i]!;
      stack.push({ value: (value as Record<string, unknown>)[key], parent: entry, key, depth: depth + 1 });
    }
  }
  if (issues.length > 0 || bound <= METADATA_LIMITS.bytes) return issues;
  // Safe now: the depth is bounded.
  const bytes = new TextEncoder().encode(JSON.stringify(metadata)).length;
  if (bytes > METADATA_LIMITS.bytes) {
    return [{ path: [], message: `is larger than ${METADATA_LIMITS.bytes} bytes as JSON (${bytes})` }];
  }
  return [];
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/**
 * A union whose error says what it accepts (`expected`, e.g. "a string or an array of numbers")
 * rather than zod's "Invalid input" when a value matches none of the options' types. A value of
 * the right type that breaks a rule of its option reports that rule.
 */
export function oneOf<const T extends readonly [z.ZodType, z.ZodType, ...z.ZodType[]]>(
  expected: string,
  options: T,
) {
  return z.union(options, {
    error: (issue) =>
      issue.input === undefined
        ? `required: ${expected}`
        : `expected ${expected}, got ${kindOf(issue.input)}`,
  });
}

/** A record whose key errors name the key and its rule (zod's default says "Invalid key in record"). */
export function keyedRecord<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) {
  return z.record(key, value, {
    error: (issue) =>
      issue.code === 'invalid_key'
        ? `key ${JSON.stringify(issue.input)} is invalid: ${issue.issues.map((i) => i.message).join('; ')}`
        : undefined,
  });
}
