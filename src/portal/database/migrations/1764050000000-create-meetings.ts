import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** Meetings, each hosted by a user. Portable column types only (SQLite and PostgreSQL). */
export class CreateMeetings1764050000000 implements MigrationInterface {
  name = 'CreateMeetings1764050000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'meetings',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'room', type: 'varchar', length: '64' },
          { name: 'title', type: 'varchar', length: '200' },
          { name: 'host_id', type: 'varchar', length: '36' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          { name: 'meetings_room_unique', columnNames: ['room'], isUnique: true },
          { name: 'meetings_host', columnNames: ['host_id'] },
        ],
        foreignKeys: [
          {
            columnNames: ['host_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('meetings');
  }
}
