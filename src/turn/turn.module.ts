import { Module } from '@nestjs/common';
import { ObservabilityModule } from '../observability/observability.module';
import { PortalModule } from '../portal/portal.module';
import { EmbeddedTurnService } from './embedded-turn.service';
import { TurnController } from './turn.controller';
import { TurnService } from './turn.service';

@Module({
  imports: [ObservabilityModule, PortalModule],
  controllers: [TurnController],
  providers: [TurnService, EmbeddedTurnService],
  exports: [TurnService],
})
export class TurnModule {}
