import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** What a meeting enforces at the door: a password (hashed), a lobby and a participant cap. */
export class MeetingSettings1764060000000 implements MigrationInterface {
  name = 'MeetingSettings1764060000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('meetings', [
      new TableColumn({ name: 'password_hash', type: 'varchar', length: '200', isNullable: true }),
      new TableColumn({ name: 'lobby', type: 'boolean', default: false }),
      new TableColumn({ name: 'max_participants', type: 'integer', isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['max_participants', 'lobby', 'password_hash']) {
      await queryRunner.dropColumn('meetings', column);
    }
  }
}
