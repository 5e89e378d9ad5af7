import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { LevelChunkStore } from '../../../crdt/storage/level-chunk-store.js'
import { tempDir } from '../../../scripts/lib/node-process.js'
import { chunkStoreSuite } from '../../helpers/chunk-store-suite.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'

describe('ChunkStore adapters keep the same contract', () => {
  describe('LevelChunkStore', () => {
    chunkStoreSuite(() => {
      const dir = tempDir('fleet-chunks-')
      const path = join(dir, 'db')
      return {
        fresh: async () => new LevelChunkStore({ path }),
        reopen: async () => new LevelChunkStore({ path }),
        cleanup: () => { rmSync(dir, { recursive: true, force: true }) }
      }
    })
  })

  describe('MemoryChunkStore (the test double)', () => {
    chunkStoreSuite(() => ({
      fresh: async () => new MemoryChunkStore(),
      // The memory store keeps its bytes in the instance: reopening is opening it again.
      reopen: async (store) => store,
      cleanup: () => {}
    }))
  })
})
