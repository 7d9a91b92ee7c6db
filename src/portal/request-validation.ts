import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { Matches, ValidateIf } from 'class-validator';

/** The DTOs are flat; class-transformer recurses, so a deep body would exhaust the stack. */
const MAX_BODY_DEPTH = 16;

/** Keys class-transformer drops without a word, out of the whitelist's sight. */
const DROPPED_KEYS = ['__proto__', 'constructor'];

/**
 * The REST door's validation: a bad body gets a 400 whose `message` lists every problem,
 * unknown fields included. First it refuses what class-transformer and class-validator
 * would choke on or hide: a body that is not an object, deep nesting, lone surrogates,
 * `__proto__` and `constructor` keys.
 */
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const problems = bodyShapeProblems(value);
      if (problems.length) throw new BadRequestException(problems);
    }
    return super.transform(value, metadata);
  }
}

/** In u-mode a surrogate pair is one code point: only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

const isContainer = (value: unknown): value is object =>
  typeof value === 'object' && value !== null;

function bodyShapeProblems(body: unknown): string[] {
  if (body === undefined) return [];
  if (!isContainer(body) || Array.isArray(body)) return ['the request body must be a JSON object'];
  const problems = DROPPED_KEYS.filter((key) => Object.hasOwn(body, key)).map(
    (key) => `property ${key} should not exist`,
  );
  let loneSurrogate = false;
  // Level by level, not recursively: the depth is what is being checked.
  let level: object[] = [body];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > MAX_BODY_DEPTH)
      return [`the request body nests deeper than ${MAX_BODY_DEPTH} levels`];
    const values = level.flatMap((container) => Object.values(container));
    loneSurrogate ||= values.some((v) => typeof v === 'string' && LONE_SURROGATE.test(v));
    level = values.filter(isContainer);
  }
  // validator.js throws on them (isEmail runs encodeURI), and they are no Unicode text.
  if (loneSurrogate) problems.push('the request body has a string with a lone surrogate');
  return problems;
}

/**
 * The field may be left out. Unlike IsOptional, which skips null too, a null is checked
 * like any other value: fields the database stores NOT NULL must not take it.
 */
export const IsOmittable = () => ValidateIf((_object, value) => value !== undefined);

/**
 * Names and titles: no control characters. PostgreSQL refuses NUL, and these strings end
 * up in XML stanzas and on other people's screens.
 */
export const IsPlainText = () =>
  Matches(/^\P{Cc}*$/u, { message: '$property must not contain control characters' });
