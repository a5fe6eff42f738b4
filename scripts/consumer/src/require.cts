// CommonJS consumers: `require` of the ES modules (Node 20.19+), typed from the same exports.
import client = require("@sfbulk/client")
import BulkClient = require("@sfbulk/client/BulkClient")

// the package entry and the subpath are one module instance
if (client.BulkClient.insert !== BulkClient.insert) throw new Error("@sfbulk/client and @sfbulk/client/BulkClient differ")
