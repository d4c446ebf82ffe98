"""What the dashboard remembers between sessions, as typed properties over a QSettings.

Every getter survives junk on disk (a hand-edited file, an older version's values):
it falls back to the default rather than failing, because a bad settings file must
never stop the app from opening.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from nnstudio.core.config import TrainingConfig


def user_settings() -> QSettings:
    """The per-user settings file (``~/.config/nnstudio/nnstudio.ini`` on Linux)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "nnstudio", "nnstudio")


class Settings:
    """A thin typed wrapper; tests pass a QSettings on a temporary ini file."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else user_settings()

    # -- the data folder ---------------------------------------------------------------------

    @property
    def data_dir(self) -> Path | None:
        value = self.store.value("data/folder", "")
        return Path(value) if isinstance(value, str) and value else None

    @data_dir.setter
    def data_dir(self, folder: Path | None) -> None:
        self.store.setValue("data/folder", str(folder) if folder else "")

    # -- the last hyperparameters ------------------------------------------------------------

    @property
    def training_config(self) -> TrainingConfig | None:
        """The form's last valid configuration, or None if none was saved or it no longer loads."""
        text = self.store.value("training/config", "")
        if not isinstance(text, str) or not text:
            return None
        try:
            return TrainingConfig.from_dict(json.loads(text))
        except (ValueError, TypeError):
            return None

    @training_config.setter
    def training_config(self, config: TrainingConfig) -> None:
        self.store.setValue("training/config", json.dumps(config.to_dict()))

    @property
    def preset(self) -> str:
        value = self.store.value("training/preset", "")
        return value if isinstance(value, str) else ""

    @preset.setter
    def preset(self, name: str) -> None:
        self.store.setValue("training/preset", name)

    # -- the view ----------------------------------------------------------------------------

    @property
    def log_loss(self) -> bool:
        return str(self.store.value("view/log_loss", "false")).lower() == "true"

    @log_loss.setter
    def log_loss(self, on: bool) -> None:
        self.store.setValue("view/log_loss", "true" if on else "false")

    @property
    def tab(self) -> int:
        """The index of the tab shown last (0, the Train tab, when none or unreadable)."""
        value = str(self.store.value("window/tab", "0"))
        return int(value) if value.isdigit() else 0

    @tab.setter
    def tab(self, index: int) -> None:
        self.store.setValue("window/tab", str(int(index)))

    def byte_array(self, key: str) -> QByteArray:
        """Saved window geometry, window state or splitter state; empty when none or unreadable."""
        value = self.store.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else QByteArray()

    def set_byte_array(self, key: str, value: QByteArray) -> None:
        self.store.setValue(f"window/{key}", value)

    def sync(self) -> None:
        self.store.sync()
