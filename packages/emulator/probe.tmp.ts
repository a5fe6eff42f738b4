import * as Emulator from "./src/Emulator.js"
const emu = await Emulator.start({ latencyMs: 5 })
const base = emu.instanceUrl
const h1 = { "X-SFDC-Session": emu.accessToken }
const show = async (label: string, r: Response) => { console.log(`--- ${label} ${r.status} ${r.headers.get("content-type")} loc=${r.headers.get("sforce-locator")} n=${r.headers.get("sforce-numberofrecords")}`); console.log((await r.text()).slice(0, 900)) }
const a = `${base}/services/async/66.0`
let r = await fetch(`${a}/job`, { method: "POST", headers: { ...h1, "content-type": "application/xml" }, body: `<?xml version="1.0"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><operation>query</operation><object>Account</object><contentType>CSV</contentType></jobInfo>` })
const jt = await r.text(); console.log("create", r.status, jt)
const jobId = /<id>(.*?)<\/id>/.exec(jt)![1]
r = await fetch(`${a}/job/${jobId}/batch`, { method: "POST", headers: { ...h1, "content-type": "text/csv" }, body: "SELECT Id, Name, Phone FROM Account LIMIT 3" })
const bt = await r.text(); console.log("batch", r.status, bt)
const batchId = /<id>(.*?)<\/id>/.exec(bt)![1]
await show("result-early", await fetch(`${a}/job/${jobId}/batch/${batchId}/result`, { headers: h1 }))
await new Promise((x) => setTimeout(x, 300))
r = await fetch(`${a}/job/${jobId}/batch/${batchId}/result`, { headers: h1 }); const rl = await r.text(); console.log("resultlist", r.status, rl)
const rid = /<result>(.*?)<\/result>/.exec(rl)![1]
await show("result", await fetch(`${a}/job/${jobId}/batch/${batchId}/result/${rid}`, { headers: h1 }))
await show("badjob", await fetch(`${a}/job/750000000000000AAA`, { headers: h1 }))
await show("badbatch", await fetch(`${a}/job/${jobId}/batch/751000000000000AAA`, { headers: h1 }))
await show("close", await fetch(`${a}/job/${jobId}`, { method: "POST", headers: { ...h1, "content-type": "application/xml" }, body: `<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><state>Closed</state></jobInfo>` }))
await show("batchlist", await fetch(`${a}/job/${jobId}/batch`, { headers: h1 }))
const d = `${base}/services/data/v66.0`
const h2 = { authorization: `Bearer ${emu.accessToken}`, "content-type": "application/json" }
r = await fetch(`${d}/jobs/query`, { method: "POST", headers: h2, body: JSON.stringify({ operation: "query", query: "SELECT Id, Name, Phone FROM Account" }) })
const q = await r.json() as any; console.log("q create", r.status, JSON.stringify(q))
await show("q results early", await fetch(`${d}/jobs/query/${q.id}/results`, { headers: h2 }))
await new Promise((x) => setTimeout(x, 300))
await show("q get", await fetch(`${d}/jobs/query/${q.id}`, { headers: h2 }))
await show("q results", await fetch(`${d}/jobs/query/${q.id}/results?maxRecords=2`, { headers: h2 }))
await show("q results 409", await fetch(`${base}/services/data/v60.0/jobs/query/${q.id}/results`, { headers: h2 }))
await show("q results badloc", await fetch(`${d}/jobs/query/${q.id}/results?locator=zzz`, { headers: h2 }))
await show("q groupby", await fetch(`${d}/jobs/query`, { method: "POST", headers: h2, body: JSON.stringify({ operation: "query", query: "SELECT Name, COUNT(Id) FROM Account GROUP BY Name" }) }))
await show("q badfield", await fetch(`${d}/jobs/query`, { method: "POST", headers: h2, body: JSON.stringify({ operation: "query", query: "SELECT Id, Foo FROM Account" }) }))
await show("q subquery", await fetch(`${d}/jobs/query`, { method: "POST", headers: h2, body: JSON.stringify({ operation: "query", query: "SELECT Id, (SELECT Id FROM Contacts) FROM Account" }) }))
r = await fetch(`${d}/jobs/ingest`, { method: "POST", headers: h2, body: JSON.stringify({ operation: "insert", object: "Account" }) })
const ij = await r.json() as any; console.log("i create", r.status, JSON.stringify(ij))
await show("i get open", await fetch(`${d}/jobs/ingest/${ij.id}`, { headers: h2 }))
await show("i put", await fetch(`${d}/jobs/ingest/${ij.id}/batches`, { method: "PUT", headers: { ...h2, "content-type": "text/csv" }, body: "Name,Phone\nAcme,\n,123\n" }))
await show("i results early", await fetch(`${d}/jobs/ingest/${ij.id}/successfulResults`, { headers: h2 }))
await show("i patch", await fetch(`${d}/jobs/ingest/${ij.id}`, { method: "PATCH", headers: h2, body: JSON.stringify({ state: "UploadComplete" }) }))
await new Promise((x) => setTimeout(x, 300))
await show("i get done", await fetch(`${d}/jobs/ingest/${ij.id}`, { headers: h2 }))
await show("i ok", await fetch(`${d}/jobs/ingest/${ij.id}/successfulResults`, { headers: h2 }))
await show("i failed", await fetch(`${d}/jobs/ingest/${ij.id}/failedResults`, { headers: h2 }))
await show("i abort done", await fetch(`${d}/jobs/ingest/${ij.id}`, { method: "PATCH", headers: h2, body: JSON.stringify({ state: "Aborted" }) }))
await show("i delete", await fetch(`${d}/jobs/ingest/${ij.id}`, { method: "DELETE", headers: h2 }))
await show("i get deleted", await fetch(`${d}/jobs/ingest/${ij.id}`, { headers: h2 }))
await emu.close()
