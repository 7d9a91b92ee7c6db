import { Module } from '@nestjs/common';
import { LocalRoomDirectory, RoomDirectory } from './room-directory';

@Module({
  providers: [{ provide: RoomDirectory, useClass: LocalRoomDirectory }],
  exports: [RoomDirectory],
})
export class ClusterModule {}
