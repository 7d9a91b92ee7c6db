import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiKeysService } from '../portal/api-keys/api-keys.service';
import { AdminGuard, AdminRequest, AdminsOnly } from './admin-auth.guard';
import { ApiKeyView, CreateApiKeyDto, CreatedApiKey } from './admin.dto';

/** API keys, managed by administrators signed in with an access token. */
@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No or invalid access token' })
@ApiForbiddenResponse({ description: 'Not an administrator, or an API key' })
@Controller('api/v1/admin/api-keys')
@UseGuards(AdminGuard)
@AdminsOnly()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKey, description: 'The secret is shown only here' })
  create(@Req() request: AdminRequest, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKey> {
    const caller = request.adminCaller;
    return this.apiKeys.create(dto.name, caller.kind === 'user' ? caller.userId : caller.keyId);
  }

  @Get()
  @ApiOkResponse({ type: [ApiKeyView] })
  list(): Promise<ApiKeyView[]> {
    return this.apiKeys.list();
  }

  @Delete(':keyId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Revoked: the key is refused from now on' })
  revoke(@Param('keyId') keyId: string): Promise<void> {
    return this.apiKeys.revoke(keyId);
  }
}
