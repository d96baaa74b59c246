// kafkajs consumer groups against moonlogd. One run of one consumer: join GROUP, read TOPIC
// with eachMessage (kafkajs commits what it processed), stop after COUNT records, disconnect
// (which commits), then print the records seen and the group's committed offsets as one JSON line.
// usage: node kafkajs_group.js BROKER TOPIC GROUP COUNT
const { Kafka, logLevel } = require("kafkajs");

const [broker, topic, groupId, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);

async function main() {
  const kafka = new Kafka({ clientId: "moonlog-spec", brokers: [broker], logLevel: logLevel.WARN,
                            retry: { retries: 5 } });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
  const seen = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.length}/${count}`)), 60000);
    let done = false;
    consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ partition, message }) => {
        if (done) {
          // Stop taking records: throwing leaves this one uncommitted (it is read again later).
          throw new Error("stopping");
        }
        seen.push([partition, Number(message.offset), message.value.toString()]);
        if (seen.length >= count) { done = true; clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.disconnect();
  const offsets = {};
  for (const p of committed[0].partitions) offsets[p.partition] = Number(p.offset);
  console.log(JSON.stringify({ seen, committed: offsets }));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
