import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** XMPP rosters and offline messages. Portable column types only (SQLite and PostgreSQL). */
export class CreateXmppStorage1764080000000 implements MigrationInterface {
  name = 'CreateXmppStorage1764080000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'xmpp_roster_items',
        columns: [
          { name: 'owner', type: 'varchar', length: '255', isPrimary: true },
          { name: 'contact', type: 'varchar', length: '255', isPrimary: true },
          { name: 'name', type: 'varchar', length: '255', isNullable: true },
          { name: 'subscription', type: 'varchar', length: '8' },
          { name: 'ask_subscribe', type: 'boolean' },
          { name: 'groups', type: 'text' },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'xmpp_offline_messages',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'owner', type: 'varchar', length: '255' },
          { name: 'stanza', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [{ name: 'xmpp_offline_messages_owner', columnNames: ['owner', 'created_at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('xmpp_offline_messages');
    await queryRunner.dropTable('xmpp_roster_items');
  }
}
