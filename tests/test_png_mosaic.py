"""The stdlib PNG writer and the gallery mosaic: pixels come back exactly, tiles are found where drawn."""

import numpy as np
import pytest

from nnstudio.core.mosaic import layout, mosaic
from nnstudio.core.png_file import png_bytes, read_png, write_png


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 3), (2, 9, 4), (1, 1)])
def test_png_round_trip(shape, tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    path = write_png(tmp_path / "p.png", pixels)
    assert np.array_equal(read_png(path.read_bytes()), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_png_qt_reads_it_too(tmp_path):
    from PySide6.QtGui import QImage

    pixels = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    write_png(tmp_path / "q.png", pixels)
    image = QImage(str(tmp_path / "q.png"))
    assert (image.width(), image.height()) == (10, 6)
    assert QImage.Format.Format_Grayscale8 == image.format() and image.pixelColor(3, 2).red() == pixels[2, 3]


def test_png_refuses_bad_pixels():
    with pytest.raises(ValueError, match="must be uint8"):
        png_bytes(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="got shape"):
        png_bytes(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="at least one pixel"):
        png_bytes(np.zeros((0, 3), np.uint8))


def test_mosaic_places_each_tile_where_layout_finds_it(split):
    images = split.x_test[:23]
    picture, grid = mosaic(images, columns=10, scale=2, captions=[f"{d}>{d}" for d in split.y_test[:23]])
    assert (grid.columns, grid.rows) == (10, 3) and picture.shape == (grid.height, grid.width)
    for i in (0, 9, 10, 22):
        row, col = divmod(i, 10)
        y, x = row * grid.cell_h, col * grid.cell_w
        tile = picture[y:y + 56:2, x:x + 56:2]
        assert np.array_equal(tile, images[i].reshape(28, 28))
        assert grid.tile_at(y + 30, x + 30, 23) == i
    assert grid.tile_at(grid.cell_h * 2 + 5, grid.cell_w * 5, 23) is None  # past the last tile
    assert grid.tile_at(57, 5, 23) is None  # on a caption
    caption = picture[56:56 + 14, 0:56]
    assert caption.min() == 0 and caption.max() == 255  # ink on paper
    empty, g = mosaic(split.x_test[:0])
    assert empty.size > 0 and layout(0, (28, 28)).rows == 1
