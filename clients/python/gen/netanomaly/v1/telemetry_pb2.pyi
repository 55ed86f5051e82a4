from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VERDICT_ANOMALOUS: Verdict
VERDICT_NORMAL: Verdict
VERDICT_UNSPECIFIED: Verdict

class FeatureContribution(_message.Message):
    __slots__ = ["contribution", "feature", "value"]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    contribution: float
    feature: str
    value: float
    def __init__(self, feature: _Optional[str] = ..., contribution: _Optional[float] = ..., value: _Optional[float] = ...) -> None: ...

class NetworkEvent(_message.Message):
    __slots__ = ["bytes_recv", "bytes_sent", "dest_domain", "dest_ip", "dest_port", "dns_query", "parent_process", "process_hash", "process_path", "protocol", "source_ip", "timestamp", "user_context"]
    BYTES_RECV_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    DEST_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    DEST_IP_FIELD_NUMBER: _ClassVar[int]
    DEST_PORT_FIELD_NUMBER: _ClassVar[int]
    DNS_QUERY_FIELD_NUMBER: _ClassVar[int]
    PARENT_PROCESS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_HASH_FIELD_NUMBER: _ClassVar[int]
    PROCESS_PATH_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USER_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    bytes_recv: int
    bytes_sent: int
    dest_domain: str
    dest_ip: str
    dest_port: int
    dns_query: str
    parent_process: str
    process_hash: str
    process_path: str
    protocol: str
    source_ip: str
    timestamp: _timestamp_pb2.Timestamp
    user_context: str
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., process_path: _Optional[str] = ..., process_hash: _Optional[str] = ..., source_ip: _Optional[str] = ..., dest_ip: _Optional[str] = ..., dest_domain: _Optional[str] = ..., dest_port: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., bytes_recv: _Optional[int] = ..., protocol: _Optional[str] = ..., dns_query: _Optional[str] = ..., parent_process: _Optional[str] = ..., user_context: _Optional[str] = ...) -> None: ...

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
