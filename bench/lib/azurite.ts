// Azurite for the bench: the test suite's helper (test/helpers/azurite.ts: a real blob server on
// 127.0.0.1, data on disk), plus what the bench needs around it: container SAS URLs for rclone,
// and untimed listing and clean-up of prefixes between runs.
import {Azurite as AzuriteServer} from '../../test/helpers/azurite.js'

export interface Azurite {
  port: number
  connectionString: string
  /** A container URL with a SAS token (read, add, create, write, delete, list) for rclone. */
  containerSasUrl(container: string): Promise<string>
  createContainer(container: string): Promise<void>
  /** Names of every blob under prefix. */
  listNames(container: string, prefix: string): Promise<string[]>
  /** Removes every blob under prefix (untimed clean-up between runs). */
  deletePrefix(container: string, prefix: string): Promise<void>
  /** Stops the server and removes its data. */
  stop(): Promise<void>
}

export async function startAzurite(): Promise<Azurite> {
  const server = await AzuriteServer.start()
  const {BlobServiceClient} = await import('@azure/storage-blob')
  const service = BlobServiceClient.fromConnectionString(server.connectionString)
  const listNames = async (container: string, prefix: string) => {
    const names: string[] = []
    for await (const blob of service.getContainerClient(container).listBlobsFlat({prefix})) names.push(blob.name)
    return names
  }
  return {
    port: server.port,
    connectionString: server.connectionString,
    containerSasUrl: (container) => server.sasUrl(container, {expiresOn: new Date(Date.now() + 24 * 3600_000)}),
    createContainer: (container) => server.createContainer(container),
    listNames,
    async deletePrefix(container, prefix) {
      const client = service.getContainerClient(container)
      const names = await listNames(container, prefix)
      for (let i = 0; i < names.length; i += 32) await Promise.all(names.slice(i, i + 32).map((n) => client.deleteBlob(n).catch(() => {})))
    },
    stop: () => server.dispose(),
  }
}
