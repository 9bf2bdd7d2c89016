// cozy-stack-client's FileCollection, unchanged, against a running cozy
// (tests/test_node_client.py starts the server and sets COZY_URL and COZY_TOKEN).
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const CozyStackClient = require('cozy-stack-client').default
const { Q } = require('cozy-client/dist/queries/dsl')

const ROOT = 'io.cozy.files.root-dir'
const uri = process.env.COZY_URL
const token = process.env.COZY_TOKEN
const stack = new CozyStackClient({ uri, token })
const files = stack.collection('io.cozy.files')

const md5 = data => crypto.createHash('md5').update(data).digest('base64')
const bytesOf = async response => Buffer.from(await response.arrayBuffer())

// Run in order: each test uses what the previous ones made.
const made = {}

test('statById and statByPath of the root', async () => {
  const byId = await files.statById(ROOT)
  assert.equal(byId.data._id, ROOT)
  assert.equal(byId.data.attributes.path, '/')
  const byPath = await files.statByPath('/')
  assert.equal(byPath.data._id, ROOT)
})

test('createDirectory and createDirectoryByPath (twice: the second run finds it)', async () => {
  const { data: dir } = await files.createDirectory({ name: 'Node', dirId: ROOT })
  assert.equal(dir.name, 'Node')
  assert.equal(dir.path, '/Node')
  made.dir = dir
  const deep = await files.createDirectoryByPath('/Node/Bills/2024')
  assert.equal(deep.data.attributes.path, '/Node/Bills/2024')
  const again = await files.createDirectoryByPath('/Node/Bills/2024')
  assert.equal(again.data._id, deep.data._id)
  made.deep = deep.data
  assert.equal(await files.isChildOf(deep.data, dir), true)
})

test('createFile with a checksum, a date and a wrong checksum (412)', async () => {
  const body = 'hello from node\n'
  const when = new Date('2021-03-04T05:06:07Z')
  const { data: file } = await files.createFile(body, {
    name: 'hello.txt', dirId: made.dir._id, checksum: md5(body), lastModifiedDate: when
  })
  assert.equal(file.name, 'hello.txt')
  assert.equal(file.size, String(Buffer.byteLength(body)))
  assert.equal(file.md5sum, md5(body))
  assert.equal(file.path, '/Node/hello.txt')
  assert.equal(new Date(file.updated_at).toISOString(), when.toISOString())
  made.file = file
  await assert.rejects(
    files.createFile('other', { name: 'bad.txt', dirId: made.dir._id, checksum: md5('not this') }),
    err => err.status === 412
  )
  await assert.rejects(files.createFile(body, { name: 'hello.txt', dirId: made.dir._id }), err => err.status === 409)
})

test('createFile with metadata, updateMetadataAttribute', async () => {
  const metadata = { datetime: '2019-07-08T09:10:11Z', qualification: { label: 'bill' } }
  const { data: photo } = await files.createFile(Buffer.from('jpeg bytes'), {
    name: 'bill.jpg', dirId: made.dir._id, metadata, contentType: 'image/jpeg'
  })
  assert.deepEqual(photo.metadata, metadata)
  assert.equal(photo.class, 'image')
  const { data: updated } = await files.updateMetadataAttribute(photo._id, { datetime: '2020-01-01T00:00:00Z' })
  assert.deepEqual(updated.attributes.metadata, { datetime: '2020-01-01T00:00:00Z' })
  // a new revision of the same content: the content before it is kept as a version
  const stat = await files.statById(photo._id)
  const versions = stat.included.filter(r => r.type === 'io.cozy.files.versions')
  assert.equal(versions.length, 1)
  // the same bytes as the file (compared whole: a small Buffer lives in Node's shared pool, and the
  // client's upload sent more than its ten bytes)
  const kept = await bytesOf(await files.fetchFileContentById(versions[0].id))
  const current = await bytesOf(await files.fetchFileContentById(photo._id))
  assert.ok(kept.includes('jpeg bytes'))
  assert.deepEqual(kept, current)
  const found = await files.find({ 'metadata.datetime': { $gt: '2019-12-31' }, class: 'image' })
  assert.deepEqual(found.data.map(f => f._id), [photo._id])
  made.photo = photo
})

test('fetchFileContentById gives the bytes', async () => {
  const resp = await files.fetchFileContentById(made.file._id)
  assert.equal((await bytesOf(resp)).toString(), 'hello from node\n')
})

test('updateFile with If-Match; the old content becomes a version', async () => {
  const body = 'second content\n'
  await assert.rejects(
    files.updateFile(body, { fileId: made.file._id, name: 'hello.txt', ifMatch: '1-stale' }),
    err => err.status === 412
  )
  const { data: file } = await files.updateFile(body, {
    fileId: made.file._id, name: 'hello.txt', checksum: md5(body), ifMatch: made.file._rev
  })
  assert.equal(file.md5sum, md5(body))
  assert.notEqual(file._rev, made.file._rev)
  const stat = await files.statById(made.file._id)
  const versions = stat.included.filter(r => r.type === 'io.cozy.files.versions')
  assert.equal(versions.length, 1)
  assert.ok(versions[0].id.startsWith(`${made.file._id}/`))
  const old = await files.fetchFileContentById(versions[0].id)
  assert.equal((await bytesOf(old)).toString(), 'hello from node\n')
  made.file = file
  made.versionId = versions[0].id
})

test('download links by id, path and revision', async () => {
  const byId = await files.getDownloadLinkById(made.file._id, 'renamed.txt')
  assert.ok(byId.startsWith(uri))
  let resp = await fetch(byId) // no Authorization header: an <a href>
  assert.equal(resp.status, 200)
  assert.equal((await bytesOf(resp)).toString(), 'second content\n')
  assert.match(resp.headers.get('content-disposition'), /renamed\.txt/)
  resp = await fetch(byId, { headers: { Range: 'bytes=0-5' } })
  assert.equal(resp.status, 206)
  assert.equal((await bytesOf(resp)).toString(), 'second')
  const byPath = await files.getDownloadLinkByPath('/Node/hello.txt')
  assert.equal((await bytesOf(await fetch(byPath))).toString(), 'second content\n')
  const byRevision = await files.getDownloadLinkByRevision(made.versionId, 'old.txt')
  assert.equal((await bytesOf(await fetch(byRevision))).toString(), 'hello from node\n')
})

test('find with cozy-client queries, sorted and paginated', async () => {
  for (const name of ['b.txt', 'a.txt', 'c.txt']) {
    await files.createFile(name, { name, dirId: made.deep._id })
  }
  const query = Q('io.cozy.files')
    .where({ dir_id: made.deep._id, type: 'file' })
    .indexFields(['dir_id', 'type', 'name'])
    .sortBy([{ dir_id: 'asc' }, { type: 'asc' }, { name: 'asc' }])
    .limitBy(2)
  const options = { indexedFields: query.indexedFields, sort: query.sort, limit: query.limit }
  const first = await files.find(query.selector, options)
  assert.deepEqual(first.data.map(f => f.name), ['a.txt', 'b.txt'])
  assert.equal(first.meta.count, 3)
  assert.equal(first.next, true)
  assert.ok(first.bookmark)
  const second = await files.find(query.selector, { ...options, bookmark: first.bookmark })
  assert.deepEqual(second.data.map(f => f.name), ['c.txt'])
  const bySkip = await files.find(query.selector, { ...options, skip: 2 })
  assert.deepEqual(bySkip.data.map(f => f.name), ['c.txt'])
  assert.equal(bySkip.next, false)

  const recent = await files.find(
    { type: 'file', trashed: false, updated_at: { $gt: '2000-01-01T00:00:00Z' }, name: { $in: ['a.txt', 'c.txt'] } },
    { indexedFields: ['updated_at'], sort: [{ updated_at: 'desc' }], fields: ['name', 'updated_at'] }
  )
  assert.deepEqual(recent.data.map(f => f.name).sort(), ['a.txt', 'c.txt'])
  made.abc = (await files.find({ dir_id: made.deep._id }, { indexedFields: ['dir_id'] })).data
  await assert.rejects(files.find({ name: { $regex: '^a' } }), err => err.status === 400)
})

test('getAll and all', async () => {
  const ids = made.abc.map(f => f._id)
  const some = await files.getAll(ids)
  assert.deepEqual(some.data.map(f => f._id).sort(), [...ids].sort())
  const everything = await files.all({ limit: 100 })
  const names = everything.data.map(f => f.name)
  for (const name of ['Node', 'hello.txt', 'a.txt', 'b.txt', 'c.txt']) assert.ok(names.includes(name), name)
  assert.equal(everything.next, false)
})

test('references: addReferencedBy, addReferencesTo, findReferencedBy, remove both ways', async () => {
  const album = { _type: 'io.cozy.photos.albums', _id: 'album-node' }
  const [a, c] = [made.abc.find(f => f.name === 'a.txt'), made.abc.find(f => f.name === 'c.txt')]
  const added = await files.addReferencedBy(made.photo, [album])
  assert.equal(added.meta.count, 1)
  await files.addReferencesTo(album, [a, c])
  const page = await files.findReferencedBy(album, { limit: 2 })
  assert.equal(page.meta.count, 3)
  assert.equal(page.included.length, 2)
  assert.equal(page.next, true)
  const all = await files.findReferencedBy(album, { limit: 10 })
  assert.deepEqual(all.included.map(f => f.name).sort(), ['a.txt', 'bill.jpg', 'c.txt'])
  assert.equal(all.next, false)
  const stat = await files.statById(made.photo._id)
  assert.deepEqual(stat.data.relationships.referenced_by.data, [{ type: 'io.cozy.photos.albums', id: 'album-node' }])
  await files.removeReferencesTo(album, [c])
  await files.removeReferencedBy(made.photo, [album])
  const left = await files.findReferencedBy(album, { limit: 10 })
  assert.deepEqual(left.included.map(f => f.name), ['a.txt'])
})

test('updateAttributes renames, moves and tags; rev changes', async () => {
  const { data: moved } = await files.updateAttributes(made.file._id, {
    name: 'moved.txt', dir_id: made.deep._id, tags: ['node', 'test']
  })
  assert.equal(moved.name, 'moved.txt')
  assert.equal(moved.dir_id, made.deep._id)
  assert.deepEqual(moved.tags, ['node', 'test'])
  assert.equal(moved.path, '/Node/Bills/2024/moved.txt')
  assert.notEqual(moved._rev, made.file._rev)
  made.file = moved
  const stat = await files.statByPath('/Node/Bills/2024/moved.txt')
  assert.equal(stat.data._id, moved._id)
})

test('copy: a new file with the same bytes', async () => {
  const { data: copied } = await files.copy(made.file._id, 'copied.txt', made.dir._id)
  assert.equal(copied.attributes.path, '/Node/copied.txt')
  assert.notEqual(copied.id, made.file._id)
  const bytes = await bytesOf(await files.fetchFileContentById(copied.id))
  assert.equal(bytes.toString(), 'second content\n')
  const { data: unnamed } = await files.copy(made.file._id)
  assert.equal(unnamed.attributes.name, 'moved (copy).txt')
})

test('fetchChanges sees changes and deletions', async () => {
  const start = await files.fetchChanges({ since: '0' }, { includeDocs: true })
  assert.ok(start.results.some(r => r.id === made.file._id && r.doc.name === 'moved.txt'))
  const since = start.newLastSeq
  const victim = made.abc.find(f => f.name === 'b.txt')
  await files.deleteFilePermanently(victim._id)
  const after = await files.fetchChanges({ since }, { includeDocs: true })
  const gone = after.results.find(r => r.id === victim._id)
  assert.equal(gone.deleted, true)
  assert.equal(after.pending, 0)
  await assert.rejects(files.statById(victim._id), err => err.status === 404)
})

test('destroy (trash), restore, emptyTrash', async () => {
  const a = made.abc.find(f => f.name === 'a.txt')
  const { data: trashed } = await files.destroy(a)
  assert.equal(trashed.trashed, true)
  const { data: restored } = await files.restore(a._id)
  assert.equal(restored.trashed, false)
  assert.equal(restored.path, '/Node/Bills/2024/a.txt')
  await files.destroy(a)
  await files.emptyTrash()
  await assert.rejects(files.statById(a._id), err => err.status === 404)
})

test('unknown routes are JSON:API 404s', async () => {
  await assert.rejects(stack.fetchJSON('GET', '/files/no/such/route'), err => err.status === 404 && err.reason.errors[0].status === '404')
  await assert.rejects(files.statByPath('/no/such/path'), err => err.status === 404)
})
