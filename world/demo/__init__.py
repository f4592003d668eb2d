"""Scripted demo tours of the hall: schema, backend actions, presenter, recorder.

Light on import: Panda3D is only imported by the renderer/recorder modules.
"""
