"""The data layer: where 3D sequences and their 2D views come from.

- :mod:`.source`: SIMSPINE datasets (``simspine.h5``, merged 37-keypoint data) as sequences and rigs
- :mod:`.config`: the ``data`` settings (skeleton, 2D protocol, windows) shared by lifter and benchmark
- :mod:`.protocol`: the 2D a camera sees under the "gt" and "detected" protocols
- :mod:`.detector_noise`: the seeded detector-error model of the "detected" protocol
- :mod:`.detections`, :mod:`.detections_json`: real 2D detections for a dataset (npz or JSON folders)
- :mod:`.synth`: the synthetic SIMSPINE-format generator (the built-in default dataset)

numpy only: nothing here imports torch.
"""
