import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/** API keys for server-to-server calls. Portable column types only (SQLite and PostgreSQL). */
export class CreateApiKeys1764070000000 implements MigrationInterface {
  name = 'CreateApiKeys1764070000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_by', type: 'varchar', length: '36' },
          { name: 'created_at', type: 'bigint' },
          { name: 'revoked_at', type: 'bigint', isNullable: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('api_keys');
  }
}
