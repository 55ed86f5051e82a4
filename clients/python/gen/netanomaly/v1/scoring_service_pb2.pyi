from google.protobuf import timestamp_pb2 as _timestamp_pb2
from netanomaly.v1 import telemetry_pb2 as _telemetry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALERT_VERDICT_BENIGN: AlertVerdict
ALERT_VERDICT_MALICIOUS: AlertVerdict
ALERT_VERDICT_UNSPECIFIED: AlertVerdict
DESCRIPTOR: _descriptor.FileDescriptor

class Anomaly(_message.Message):
    __slots__ = ["alert_id", "contributions", "event", "model_version", "score", "sequence", "threshold", "time"]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    contributions: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.FeatureContribution]
    event: _telemetry_pb2.NetworkEvent
    model_version: str
    score: float
    sequence: int
    threshold: float
    time: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., event: _Optional[_Union[_telemetry_pb2.NetworkEvent, _Mapping]] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., model_version: _Optional[str] = ..., contributions: _Optional[_Iterable[_Union[_telemetry_pb2.FeatureContribution, _Mapping]]] = ..., sequence: _Optional[int] = ...) -> None: ...

class EventError(_message.Message):
    __slots__ = ["code", "field", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    field: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class EventResult(_message.Message):
    __slots__ = ["error", "score"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    error: EventError
    score: EventScore
    def __init__(self, score: _Optional[_Union[EventScore, _Mapping]] = ..., error: _Optional[_Union[EventError, _Mapping]] = ...) -> None: ...

class EventScore(_message.Message):
    __slots__ = ["contributions", "score", "verdict"]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    contributions: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.FeatureContribution]
    score: float
    verdict: _telemetry_pb2.Verdict
    def __init__(self, score: _Optional[float] = ..., verdict: _Optional[_Union[_telemetry_pb2.Verdict, str]] = ..., contributions: _Optional[_Iterable[_Union[_telemetry_pb2.FeatureContribution, _Mapping]]] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ["alert_id", "reason", "suppress", "suppress_for_seconds", "verdict"]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUPPRESS_FIELD_NUMBER: _ClassVar[int]
    SUPPRESS_FOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    reason: str
    suppress: bool
    suppress_for_seconds: int
    verdict: AlertVerdict
    def __init__(self, alert_id: _Optional[str] = ..., verdict: _Optional[_Union[AlertVerdict, str]] = ..., suppress: bool = ..., reason: _Optional[str] = ..., suppress_for_seconds: _Optional[int] = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ["alert_id", "suppression_id", "suppression_rule"]
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_RULE_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    suppression_id: str
    suppression_rule: str
    def __init__(self, alert_id: _Optional[str] = ..., suppression_id: _Optional[str] = ..., suppression_rule: _Optional[str] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetModelInfoResponse(_message.Message):
    __slots__ = ["contamination", "data_end_time", "drift", "features", "fields", "format_version", "learning", "lineage", "max_depth", "max_samples", "model_threshold", "model_version", "n_estimators", "retrains_promoted", "retrains_refused", "seed", "threshold", "training_rows"]
    class Drift(_message.Message):
        __slots__ = ["features", "max_feature_psi", "recent_rows", "reference_rows", "score_psi", "worst_feature"]
        FEATURES_FIELD_NUMBER: _ClassVar[int]
        MAX_FEATURE_PSI_FIELD_NUMBER: _ClassVar[int]
        RECENT_ROWS_FIELD_NUMBER: _ClassVar[int]
        REFERENCE_ROWS_FIELD_NUMBER: _ClassVar[int]
        SCORE_PSI_FIELD_NUMBER: _ClassVar[int]
        WORST_FEATURE_FIELD_NUMBER: _ClassVar[int]
        features: _containers.RepeatedCompositeFieldContainer[GetModelInfoResponse.FeatureDrift]
        max_feature_psi: float
        recent_rows: int
        reference_rows: int
        score_psi: float
        worst_feature: str
        def __init__(self, score_psi: _Optional[float] = ..., features: _Optional[_Iterable[_Union[GetModelInfoResponse.FeatureDrift, _Mapping]]] = ..., max_feature_psi: _Optional[float] = ..., worst_feature: _Optional[str] = ..., reference_rows: _Optional[int] = ..., recent_rows: _Optional[int] = ...) -> None: ...
    class FeatureDrift(_message.Message):
        __slots__ = ["feature", "psi"]
        FEATURE_FIELD_NUMBER: _ClassVar[int]
        PSI_FIELD_NUMBER: _ClassVar[int]
        feature: str
        psi: float
        def __init__(self, feature: _Optional[str] = ..., psi: _Optional[float] = ...) -> None: ...
    class Lineage(_message.Message):
        __slots__ = ["admitted_flagged", "generation", "parent_version", "trigger", "window_end", "window_start"]
        ADMITTED_FLAGGED_FIELD_NUMBER: _ClassVar[int]
        GENERATION_FIELD_NUMBER: _ClassVar[int]
        PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
        TRIGGER_FIELD_NUMBER: _ClassVar[int]
        WINDOW_END_FIELD_NUMBER: _ClassVar[int]
        WINDOW_START_FIELD_NUMBER: _ClassVar[int]
        admitted_flagged: int
        generation: int
        parent_version: str
        trigger: str
        window_end: _timestamp_pb2.Timestamp
        window_start: _timestamp_pb2.Timestamp
        def __init__(self, parent_version: _Optional[str] = ..., generation: _Optional[int] = ..., window_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., trigger: _Optional[str] = ..., admitted_flagged: _Optional[int] = ...) -> None: ...
    CONTAMINATION_FIELD_NUMBER: _ClassVar[int]
    DATA_END_TIME_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    LEARNING_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MODEL_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    N_ESTIMATORS_FIELD_NUMBER: _ClassVar[int]
    RETRAINS_PROMOTED_FIELD_NUMBER: _ClassVar[int]
    RETRAINS_REFUSED_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TRAINING_ROWS_FIELD_NUMBER: _ClassVar[int]
    contamination: float
    data_end_time: _timestamp_pb2.Timestamp
    drift: GetModelInfoResponse.Drift
    features: _containers.RepeatedScalarFieldContainer[str]
    fields: _containers.RepeatedScalarFieldContainer[str]
    format_version: int
    learning: bool
    lineage: GetModelInfoResponse.Lineage
    max_depth: int
    max_samples: int
    model_threshold: float
    model_version: str
    n_estimators: int
    retrains_promoted: int
    retrains_refused: int
    seed: int
    threshold: float
    training_rows: int
    def __init__(self, model_version: _Optional[str] = ..., format_version: _Optional[int] = ..., data_end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., n_estimators: _Optional[int] = ..., max_samples: _Optional[int] = ..., max_depth: _Optional[int] = ..., seed: _Optional[int] = ..., contamination: _Optional[float] = ..., threshold: _Optional[float] = ..., model_threshold: _Optional[float] = ..., training_rows: _Optional[int] = ..., features: _Optional[_Iterable[str]] = ..., fields: _Optional[_Iterable[str]] = ..., lineage: _Optional[_Union[GetModelInfoResponse.Lineage, _Mapping]] = ..., learning: bool = ..., drift: _Optional[_Union[GetModelInfoResponse.Drift, _Mapping]] = ..., retrains_promoted: _Optional[int] = ..., retrains_refused: _Optional[int] = ...) -> None: ...

class ModelStatus(_message.Message):
    __slots__ = ["last_reload_message", "last_reload_outcome", "last_reload_time", "loaded_time", "model_version", "threshold", "training_rows"]
    LAST_RELOAD_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LAST_RELOAD_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_RELOAD_TIME_FIELD_NUMBER: _ClassVar[int]
    LOADED_TIME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TRAINING_ROWS_FIELD_NUMBER: _ClassVar[int]
    last_reload_message: str
    last_reload_outcome: str
    last_reload_time: _timestamp_pb2.Timestamp
    loaded_time: _timestamp_pb2.Timestamp
    model_version: str
    threshold: float
    training_rows: int
    def __init__(self, model_version: _Optional[str] = ..., training_rows: _Optional[int] = ..., threshold: _Optional[float] = ..., loaded_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_reload_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_reload_outcome: _Optional[str] = ..., last_reload_message: _Optional[str] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _telemetry_pb2.NetworkEvent
    def __init__(self, event: _Optional[_Union[_telemetry_pb2.NetworkEvent, _Mapping]] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ["contributions", "model_version", "score", "threshold", "verdict"]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    contributions: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.FeatureContribution]
    model_version: str
    score: float
    threshold: float
    verdict: _telemetry_pb2.Verdict
    def __init__(self, score: _Optional[float] = ..., verdict: _Optional[_Union[_telemetry_pb2.Verdict, str]] = ..., threshold: _Optional[float] = ..., model_version: _Optional[str] = ..., contributions: _Optional[_Iterable[_Union[_telemetry_pb2.FeatureContribution, _Mapping]]] = ...) -> None: ...

class StreamScoreRequest(_message.Message):
    __slots__ = ["events", "request_id"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_telemetry_pb2.NetworkEvent]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[_telemetry_pb2.NetworkEvent, _Mapping]]] = ...) -> None: ...

class StreamScoreResponse(_message.Message):
    __slots__ = ["model_version", "request_id", "results", "threshold"]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    request_id: str
    results: _containers.RepeatedCompositeFieldContainer[EventResult]
    threshold: float
    def __init__(self, request_id: _Optional[str] = ..., results: _Optional[_Iterable[_Union[EventResult, _Mapping]]] = ..., model_version: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...

class WatchAnomaliesRequest(_message.Message):
    __slots__ = ["backlog"]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    backlog: int
    def __init__(self, backlog: _Optional[int] = ...) -> None: ...

class WatchAnomaliesResponse(_message.Message):
    __slots__ = ["anomalies", "dropped", "stats"]
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    dropped: int
    stats: WatchStats
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ..., stats: _Optional[_Union[WatchStats, _Mapping]] = ..., dropped: _Optional[int] = ...) -> None: ...

class WatchStats(_message.Message):
    __slots__ = ["anomalies_per_second", "anomalies_total", "events_per_second", "events_total", "model", "score_histogram", "time"]
    ANOMALIES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ANOMALIES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    EVENTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    anomalies_per_second: float
    anomalies_total: int
    events_per_second: float
    events_total: int
    model: ModelStatus
    score_histogram: _containers.RepeatedScalarFieldContainer[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., events_per_second: _Optional[float] = ..., anomalies_per_second: _Optional[float] = ..., events_total: _Optional[int] = ..., anomalies_total: _Optional[int] = ..., score_histogram: _Optional[_Iterable[int]] = ..., model: _Optional[_Union[ModelStatus, _Mapping]] = ...) -> None: ...

class AlertVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
