import { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { ServerOptions } from 'socket.io';

/** socket.io with the shard's message size limit and no client bundle served. */
export class SocketIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly maxMessageBytes: number,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions) {
    const limited = { ...options, maxHttpBufferSize: this.maxMessageBytes, serveClient: false };
    return super.createIOServer(port, limited as ServerOptions);
  }
}
