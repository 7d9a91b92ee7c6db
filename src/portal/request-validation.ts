import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { Matches, ValidateIf } from 'class-validator';

/** The DTOs are flat; class-transformer recurses, so a deep body would exhaust the stack. */
const MAX_BODY_DEPTH = 16;

/** Keys class-transformer drops without a word, out of the whitelist's sight. */
const DROPPED_KEYS = ['__proto__', 'constructor'];

/**
 * The REST door's validation: a bad body gets a 400 whose `message` lists every problem,
 * unknown fields included. First it refuses what class-transformer would choke on or
 * hide: a body that is not an object, deep nesting, `__proto__` and `constructor` keys.
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

function bodyShapeProblems(body: unknown): string[] {
  if (body === undefined) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return ['the request body must be a JSON object'];
  if (nestingDepth(body) > MAX_BODY_DEPTH)
    return [`the request body nests deeper than ${MAX_BODY_DEPTH} levels`];
  return DROPPED_KEYS.filter((key) => Object.hasOwn(body, key)).map(
    (key) => `property ${key} should not exist`,
  );
}

/** Levels of objects and arrays, counted level by level (no recursion), up to one too many. */
function nestingDepth(body: object): number {
  const containers = (values: unknown[]) =>
    values.filter((value): value is object => typeof value === 'object' && value !== null);
  let depth = 0;
  for (let level = [body]; level.length > 0 && depth <= MAX_BODY_DEPTH; depth++) {
    level = containers(level.flatMap((container) => Object.values(container)));
  }
  return depth;
}

/**
 * The field may be left out. Unlike IsOptional, which skips null too, a null is checked
 * like any other value: fields the database stores NOT NULL must not take it.
 */
export const IsOmittable = () => ValidateIf((_object, value) => value !== undefined);

/**
 * Names and titles: no control characters or lone surrogates. PostgreSQL refuses NUL,
 * and these strings end up in XML stanzas and on other people's screens.
 */
export const IsPlainText = () =>
  Matches(/^[^\p{Cc}\p{Cs}]*$/u, { message: '$property must not contain control characters' });
