// The SQLite and PostgreSQL schemas must describe the same models.
import { readFileSync } from 'node:fs'
import t from 'tap'

const models = (dialect: string) => {
  const text = readFileSync(new URL(`../../prisma/${dialect}/schema.prisma`, import.meta.url), 'utf8')
  const at = text.indexOf('// ---- models')
  return at < 0 ? '' : text.slice(at)
}

t.test('prisma/sqlite and prisma/postgresql hold identical models (npm run db:sync-schema)', async t => {
  const sqlite = models('sqlite')
  t.ok(sqlite.includes('model DeviceAuthorization'), 'the models section is found')
  t.equal(models('postgresql'), sqlite)
})
