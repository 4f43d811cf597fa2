"""Scripts that run inside FreeSWITCH's mod_python3 on a media node.

The modules here import nothing from the project, because they are copied
as files to the node's script directory.
"""
