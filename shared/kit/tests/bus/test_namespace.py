from microblog_shared.bus import Record
from microblog_shared.bus.namespace import NamespacedBus


async def test_namespaces_keep_platforms_on_one_cluster_apart(bus, topic):
    blue, green = NamespacedBus(bus, "blue."), NamespacedBus(bus, "green.")
    await blue.publish(topic, [Record(key="k", value=b"blue")])
    await green.publish(topic, [Record(key="k", value=b"green")])
    consumer = green.consumer("g", [topic])
    await consumer.start()
    try:
        records = []
        for _ in range(20):
            records += await consumer.poll(timeout=0.3)
            if records:
                break
        assert [(r.topic, r.value) for r in records] == [(topic, b"green")]
        assert {tp.topic for tp in consumer.assignment()} == {topic}
    finally:
        await consumer.stop()
