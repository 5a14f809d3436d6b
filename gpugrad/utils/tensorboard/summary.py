"""``gpugrad.utils.tensorboard.summary``: PyTorch's ``hparams``, the three ``Summary`` records TensorBoard's
HParams tab reads, for code that writes them itself through ``writer.file_writer.add_summary`` (instead of
``SummaryWriter.add_hparams``, which makes a sub-folder per call). Built from tensorboardX's protobufs."""
from __future__ import annotations

import logging
from typing import Any

from ...tensor import Tensor

__all__ = ["hparams"]

logger = logging.getLogger(__name__)


def _discrete(values: list, field: str):
    from google.protobuf import struct_pb2

    return struct_pb2.ListValue(values=[struct_pb2.Value(**{field: v}) for v in values])


def hparams(hparam_dict: dict | None = None, metric_dict: dict | None = None,
            hparam_domain_discrete: dict[str, list[Any]] | None = None):
    """(experiment, session_start_info, session_end_info) ``Summary`` protobufs, as PyTorch's: each
    hyper-parameter an int or float (bools included, as numbers), a str, or a one-element Tensor; the
    metrics' names from ``metric_dict``; ``hparam_domain_discrete`` the values a hyper-parameter may take."""
    from tensorboardX.proto.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboardX.proto.plugin_hparams_pb2 import (
        HParamsPluginData,
        SessionEndInfo,
        SessionStartInfo,
    )
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    if not isinstance(hparam_dict, dict):
        logger.warning("parameter: hparam_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        logger.warning("parameter: metric_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as hparam_dict[{k}].")

    infos = []
    start = SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # int before str and bool, as PyTorch checks them: a bool is an int there, logged as a number
        if isinstance(v, (int, float)):
            start.hparams[k].number_value = v
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(v, str):
            start.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        elif isinstance(v, Tensor):
            start.hparams[k].number_value = v.detach().cpu().numpy().reshape(-1)[0]
            infos.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64")))
            continue
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")  # noqa: TRY004  (PyTorch's)
        domain = _discrete(domains[k], field) if k in domains else None
        infos.append(HParamInfo(name=k, type=DataType.Value(kind), domain_discrete=domain))

    def record(tag: str, **content) -> Summary:
        data = HParamsPluginData(version=0, **content).SerializeToString()
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=data))
        return Summary(value=[Summary.Value(tag=tag, metadata=meta)])

    experiment = Experiment(hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metric_dict])
    return (record("_hparams_/experiment", experiment=experiment),
            record("_hparams_/session_start_info", session_start_info=start),
            record("_hparams_/session_end_info", session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))))
