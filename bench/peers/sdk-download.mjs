// Peer: the Azure SDK's own BlobClient.downloadToFile of the objects a ckpt restore reads.
// Usage: node sdk-download.mjs CONTAINER BLOB FILE [BLOB FILE ...]; AZURE_STORAGE_CONNECTION_STRING set.
import {BlobServiceClient} from '@azure/storage-blob'

const [container, ...pairs] = process.argv.slice(2)
const client = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING).getContainerClient(container)
for (let i = 0; i < pairs.length; i += 2) await client.getBlobClient(pairs[i]).downloadToFile(pairs[i + 1])
