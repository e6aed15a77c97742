"""Share-group admin for the share suite, through kafka-python 3.0.

confluent-kafka 2.16 (librdkafka 2.16) has no share-group admin API: list_consumer_groups()
keeps only groups whose protocol type is "consumer" or "" (a share group's is "share") and its
ConsumerGroupType has no SHARE, and there is no describe_share_groups nor
list_share_group_offsets.  kafka-python 3.0.12 lists groups with ListGroups v5 and any
TypesFilter (`list_groups(types_filter=["share"])`), and its protocol layer builds messages from
Kafka-style JSON schemas, so the two share admin reads the suite needs are defined here
(share_schemas/, written from docs/kip932-spec.md) and sent through the admin client's
connection manager to the group coordinator:

  ShareGroupDescribe (77) v1          describe(group) -> the DescribedGroup
  DescribeShareGroupOffsets (90) v0-1 offsets(group)  -> {(topic, partition): (start, lag, error)}

The version is the highest both sides support (ApiVersions); a broker that does not list
the API fails the call with IncompatibleBrokerVersion.  `_manager` and
`_find_coordinator_id` are kafka-python internals (3.0.x).
"""
from kafka.admin import KafkaAdminClient
from kafka.protocol.api_message import ApiMessage

from compat import bootstrap


# load_json: the JSON files of the share_schemas package next to this file (on sys.path as
# the directory of the test script).
class ShareGroupDescribeRequest(ApiMessage, load_json="share_schemas"):
    pass


class ShareGroupDescribeResponse(ApiMessage, load_json="share_schemas"):
    pass


class DescribeShareGroupOffsetsRequest(ApiMessage, load_json="share_schemas"):
    pass


class DescribeShareGroupOffsetsResponse(ApiMessage, load_json="share_schemas"):
    pass


GROUP_ID_NOT_FOUND = 69


class ShareAdmin:
    """One kafka-python KafkaAdminClient; use as a context manager."""

    def __init__(self, timeout_ms=15000):
        self.a = KafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=timeout_ms,
                                  client_id="compat-share-admin")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.a.close()
        except Exception:  # noqa: BLE001
            pass

    def list_groups(self, types=None):
        """ListGroups (v5 when types are given): {group_id: dict(group_state, group_type,
        protocol_type)}."""
        out = {}
        for g in self.a.list_groups(types_filter=types):
            out[g["group_id"]] = g
        return out

    def _to_coordinator(self, group, request):
        a = self.a

        async def go():
            node = await a._find_coordinator_id(group)
            return await a._manager.send(request, node_id=node)

        return a._manager.run(go)

    def describe(self, group):
        """ShareGroupDescribe of one group: the response's DescribedGroup (error_code,
        group_state, group_epoch, assignment_epoch, assignor_name, members[...])."""
        resp = self._to_coordinator(group, ShareGroupDescribeRequest(
            group_ids=[group], include_authorized_operations=False))
        for g in resp.groups:
            if g.group_id == group:
                return g
        raise RuntimeError(f"ShareGroupDescribe answered no entry for {group}: {resp}")

    def offsets(self, group, topics=None):
        """DescribeShareGroupOffsets of one group (topics: {name: [partitions]}, None = all its
        initialized partitions).  Returns (version, group error code, {(topic, partition):
        (start_offset, lag or None on v0, error_code)})."""
        T = DescribeShareGroupOffsetsRequest.DescribeShareGroupOffsetsRequestGroup
        topic_list = None
        if topics is not None:
            topic_list = [T.DescribeShareGroupOffsetsRequestTopic(topic_name=t, partitions=list(ps))
                          for t, ps in topics.items()]
        req = DescribeShareGroupOffsetsRequest(groups=[T(group_id=group, topics=topic_list)])
        resp = self._to_coordinator(group, req)
        version = req.API_VERSION
        for g in resp.groups:
            if g.group_id != group:
                continue
            out = {}
            for t in g.topics:
                for p in t.partitions:
                    lag = p.lag if version >= 1 else None
                    out[(t.topic_name, p.partition_index)] = (p.start_offset, lag, p.error_code)
            return version, g.error_code, out
        raise RuntimeError(f"DescribeShareGroupOffsets answered no entry for {group}: {resp}")


def member_partitions(member, topic=None):
    """{(topic, partition)} of a ShareGroupDescribe member's assignment."""
    out = set()
    for tp in member.assignment.topic_partitions:
        if topic is None or tp.topic_name == topic:
            for p in tp.partitions:
                out.add((tp.topic_name, p))
    return out
