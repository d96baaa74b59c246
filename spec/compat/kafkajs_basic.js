// kafkajs against moonlogd: admin createTopics, producer.send to a 3-partition topic, and a
// consumer reading from the beginning until it has every record. Prints one JSON summary line.
// usage: node kafkajs_basic.js BROKER TOPIC COUNT [--no-consume]
// (--no-consume skips the consumer, which needs the group APIs of consumer groups)
const { Kafka, logLevel } = require("kafkajs");

const [broker, topic, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const consume = process.argv[5] !== "--no-consume";

async function main() {
  const kafka = new Kafka({ clientId: "moonlog-spec", brokers: [broker], logLevel: logLevel.WARN,
                            retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  const sent = [];
  for (let i = 0; i < count; i += 100) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 100); j++) {
      messages.push({ key: `key-${j}`, value: `value-${j}`, headers: { n: String(j) } });
    }
    const res = await producer.send({ topic, messages, acks: -1 });
    sent.push(...res);
  }
  await producer.disconnect();
  if (!consume) {
    console.log(JSON.stringify({ created, partitions: meta.topics[0].partitions.length, acked: sent.length,
                                 errors: sent.filter((r) => r.errorCode !== 0).length }));
    return;
  }

  const consumer = kafka.consumer({ groupId: `spec-${process.pid}` });
  const seen = new Map();
  const partitions = new Set();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.size}/${count}`)), 60000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        partitions.add(partition);
        const n = message.headers.n.toString();
        if (message.key.toString() !== `key-${n}` || message.value.toString() !== `value-${n}`) {
          reject(new Error(`mismatch at ${n}`));
        }
        seen.set(n, (seen.get(n) || 0) + 1);
        if (seen.size === count) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  const dups = [...seen.values()].filter((v) => v > 1).length;
  console.log(JSON.stringify({ created, partitions: meta.topics[0].partitions.length,
                               consumed: seen.size, duplicates: dups, partitions_seen: partitions.size,
                               acked: sent.length }));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
