"""The form's augmentation: a slider per distortion and a live preview of eight training digits.

Every strength may change during a run: an edit is offered live (``live_edited``, the whole
:class:`~nnstudio.core.augment.Augmentation`), and a slider held down holds the live edit until it
is let go (``held``), as the learning-rate slider does.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider

from nnstudio.core.augment import Augmentation
from nnstudio.core.config import TrainingConfig
from nnstudio.core.limits import LIMITS
from nnstudio.gui.augmentation_preview import AugmentationPreview
from nnstudio.gui.naming import named


@dataclass(frozen=True)
class Strength:
    field: str  # of TrainingConfig
    object_name: str
    label: str
    step: float  # the value of one slider step
    unit: str  # how a value reads: "{:g}°"
    tip: str

    def text(self, value: float) -> str:
        if value == 0 and self.field != "elastic_sigma":
            return "off"
        return self.unit.format(value * 100 if self.unit.endswith("%") else value)


STRENGTHS = (
    Strength("augment_shift", "augmentShift", "Shift", 1, "±{:g} px",
             "Move each training image by up to this many pixels in each direction."),
    Strength("augment_rotate", "augmentRotate", "Rotate", 1, "±{:g}°", "Turn each training image by a random angle."),
    Strength("augment_scale", "augmentScale", "Scale", 0.01, "±{:g}%", "Shrink or enlarge each training image."),
    Strength("augment_shear", "augmentShear", "Shear", 1, "±{:g}°", "Slant each training image, as italics do."),
    Strength("elastic_alpha", "augmentElasticAlpha", "Elastic α", 1, "{:g}",
             "Elastic distortion (Simard et al. 2003): how far a smooth random field moves the pixels "
             "(34 with σ 4 is the paper's). 0 is off."),
    Strength("elastic_sigma", "augmentElasticSigma", "Elastic σ", 0.5, "{:g} px",
             "How smooth the elastic field is: small values wrinkle the strokes, large ones bend them."),
    Strength("augment_noise", "augmentNoise", "Noise", 0.01, "σ {:g}", "Gaussian noise added to every pixel."),
    Strength("augment_thickness", "augmentThickness", "Thickness", 0.1, "±{:g} steps",
             "Draw each stroke thicker or thinner by up to this many steps of dilation or erosion."),
)


def augmentation_of(fields: dict) -> Augmentation:
    """The :class:`Augmentation` of the config fields in ``fields``."""
    return Augmentation(
        shift=fields["augment_shift"], rotate=fields["augment_rotate"], scale=fields["augment_scale"],
        shear=fields["augment_shear"], elastic_alpha=fields["elastic_alpha"],
        elastic_sigma=fields["elastic_sigma"], noise=fields["augment_noise"],
        thickness=fields["augment_thickness"])


class AugmentationControls(QObject):
    """The "Augmentation" group (:attr:`group`): sliders, their values and the preview strip."""

    changed = Signal()
    live_edited = Signal(str, object)  # "augmentation", an Augmentation
    held = Signal(bool)  # a slider pressed (True) or let go

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.group = named(QGroupBox("Augmentation"), "augmentationGroup", "Augmentation")
        self.group.setToolTip("Random distortions of each training image, drawn afresh every epoch; may be "
                              "changed during a run.")
        self.preview = AugmentationPreview()
        form = QFormLayout(self.group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.preview)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        for s in STRENGTHS:
            low, high = LIMITS[s.field]
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(round(low / s.step), round(high / s.step))
            slider.setPageStep(max(1, round((high - low) / s.step / 10)))
            slider.setToolTip(s.tip)
            named(slider, s.object_name, s.label)
            value = named(QLabel(), s.object_name + "Value", f"{s.label} value")
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("±88.8 steps"))
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(s.label, row)
            self.sliders[s.field], self.values[s.field] = slider, value
            slider.valueChanged.connect(self._on_moved)
            slider.sliderPressed.connect(lambda: self.held.emit(True))
            slider.sliderReleased.connect(lambda: self.held.emit(False))
        self._base = TrainingConfig()

    def show_config(self, config: TrainingConfig) -> None:
        """Show ``config``'s strengths, without signals."""
        self._base = config
        for s in STRENGTHS:
            with QSignalBlocker(self.sliders[s.field]):
                self.sliders[s.field].setValue(round(getattr(config, s.field) / s.step))
        self._show_values()

    def fields(self) -> dict:
        """The strengths as shown; a loaded value between two slider steps is kept while its slider
        stays where the value put it."""
        out = {}
        for s in STRENGTHS:
            loaded, position = getattr(self._base, s.field), self.sliders[s.field].value()
            if position == round(loaded / s.step):
                out[s.field] = loaded
            else:
                value = round(position * s.step, 6)
                out[s.field] = int(value) if s.field == "augment_shift" else value
        return out

    def augmentation(self) -> Augmentation:
        # The thickness bias and the unwarped share have no slider: the loaded configuration's are kept.
        return augmentation_of(self.fields()).replace(thickness_bias=self._base.augment_thickness_bias,
                                                      unwarped=self._base.augment_unwarped)

    def live_settings(self) -> dict:
        return {"augmentation": self.augmentation()}

    def set_digits(self, images, labels=None) -> None:
        """The training images the preview shows (None: no data)."""
        self.preview.set_digits(images, labels)

    def set_structure_locked(self, locked: bool) -> None:
        """The strengths stay editable during a run."""

    def _show_values(self) -> None:
        fields = self.fields()
        for s in STRENGTHS:
            self.values[s.field].setText(s.text(fields[s.field]))
        shown = self.augmentation()
        if shown.thickness and shown.thickness_bias:  # a range off centre (the bundled preset's)
            low, high = shown.thickness_bias - shown.thickness, shown.thickness_bias + shown.thickness
            self.values["augment_thickness"].setText(f"{low:+g} to {high:+g} steps")
        self.values["augment_thickness"].setToolTip(
            f"{shown.unwarped:.0%} of the digits are not warped, only made thicker or thinner" if shown.unwarped else "")
        self.preview.set_augmentation(shown)

    def _on_moved(self, *_: object) -> None:
        self._show_values()
        self.changed.emit()
        self.live_edited.emit("augmentation", self.augmentation())

    def slider(self, field: str) -> QSlider:
        return self.sliders[field]
