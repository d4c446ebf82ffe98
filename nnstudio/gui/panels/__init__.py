"""The views of the studio: one module per panel, each placed by one line in the main window.

A panel is a QWidget that receives what it needs (the :class:`~nnstudio.gui.workspace.Workspace`
and/or the :class:`~nnstudio.gui.run_session.RunSession`) and connects itself to their signals.
It never reads another panel's attributes: what panels share goes through the workspace (data,
runs, the model in use, the sketch) or the session (the live run). Long work runs as a generator
on a :class:`~nnstudio.gui.worker.Worker`; only plain data crosses threads.

How to add a panel
------------------
1. Write ``nnstudio/gui/panels/my_view.py``::

       class MyView(QWidget):
           def __init__(self, workspace, session, parent=None):
               super().__init__(parent)
               self.setObjectName("myView")            # for automation and tests
               self.setAccessibleName("My view")
               ...                                     # build widgets; create plot items once
               workspace.model_changed.connect(self.on_model_changed)
               session.epoch_finished.connect(self.on_epoch)

2. Place it by one line in ``TABS`` in ``nnstudio/gui/main_window.py``::

       ("My view", lambda w: MyView(w.workspace, w.session)),

   A tab's object name is its panel's; the window remembers the tab shown across restarts.
   (The sketch pad is a dock beside the tabs, so it stays visible whichever tab is shown.)

3. Test it in ``tests/gui/`` as a user would: build it with a real ``Workspace``/``RunSession``
   (or take the ``window`` fixture), drive it through clicks, keys and public methods, and wait on
   signals (``qtbot.waitSignal``), never on the clock.

Signals to listen to: ``Workspace``: ``data_changed(bool)``, ``runs_changed()``,
``comparison_changed(run, shown)``, ``selection_changed(run)``, ``model_changed(network, text)``,
``sketch_changed(input)``, ``pad_image_requested(image, label)``, ``message_posted(text)``.
``RunSession``: ``started(Launch)``, ``progressed(tuple[BatchProgress])``, ``epoch_finished(EpochReport)``,
``setting_changed(SettingChanged)``, ``best_network_changed(network, report)``, ``ended(TrainingResult)``,
``failed(str)``, ``saved(Run)``, ``save_failed(str)``, ``stop_requested()``, ``paused_changed(bool)``,
``cleared()``, ``phase_changed(str)``.
"""
