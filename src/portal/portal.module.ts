import { Module } from '@nestjs/common';
import { JoinTokenService } from './join-token.service';

@Module({
  providers: [JoinTokenService],
  exports: [JoinTokenService],
})
export class PortalModule {}
