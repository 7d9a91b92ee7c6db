import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, ErrorCode } from '../conference/domain-error';

const STATUS: Record<ErrorCode, HttpStatus> = {
  bad_request: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  password_required: HttpStatus.UNAUTHORIZED,
  not_found: HttpStatus.NOT_FOUND,
  not_joined: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  room_full: HttpStatus.CONFLICT,
  room_locked: HttpStatus.CONFLICT,
  unknown_request: HttpStatus.BAD_REQUEST,
  too_many_requests: HttpStatus.TOO_MANY_REQUESTS,
  too_many_videos: HttpStatus.CONFLICT,
  wrong_shard: HttpStatus.MISDIRECTED,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** Renders the conference's domain errors as HTTP answers: `{statusCode, error, message}`. */
@Catch(DomainError)
export class DomainErrorFilter implements ExceptionFilter {
  catch(error: DomainError, host: ArgumentsHost) {
    const statusCode = STATUS[error.code];
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(statusCode)
      .json({ statusCode, error: error.code, message: error.message });
  }
}
