import { applyDecorators, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerModuleOptions, ThrottlerOptions } from '@nestjs/throttler';
import { AppConfig } from '../../config/config.schema';

/** The abuse limits: requests per client address and minute, one budget per kind. */
export type RateLimitName = 'login' | 'registration' | 'token';

const RATE_LIMIT = 'portal:rateLimit';

const TOO_MANY: Record<RateLimitName, string> = {
  login: 'too many login attempts',
  registration: 'too many registrations',
  token: 'too many token requests',
};

const rateLimitOf = (context: ExecutionContext): RateLimitName | undefined =>
  Reflect.getMetadata(RATE_LIMIT, context.getHandler()) as RateLimitName | undefined;

/** Counts the route's requests against the named budget (429 once it is spent). */
export const RateLimit = (name: RateLimitName) =>
  applyDecorators(SetMetadata(RATE_LIMIT, name), UseGuards(ThrottlerGuard));

export function rateLimits(portal: AppConfig['portal']): ThrottlerModuleOptions {
  const perMinute: Record<RateLimitName, number> = {
    login: portal.loginRateLimitPerMinute,
    registration: portal.registrationRateLimitPerMinute,
    token: portal.tokenRateLimitPerMinute,
  };
  const throttlers = Object.entries(perMinute).map(([name, limit]): ThrottlerOptions => ({
    name,
    ttl: 60_000,
    limit,
    // Each route counts against its own budget only.
    skipIf: (context) => rateLimitOf(context) !== name,
  }));
  return {
    throttlers,
    errorMessage: (context) =>
      `${TOO_MANY[rateLimitOf(context) ?? 'token']} from this address; try again in a minute`,
  };
}
