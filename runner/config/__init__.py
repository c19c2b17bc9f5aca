"""Stage 1, what a config may say and what it means.

The schema of every option, the validated spec, where config files come from
(the shipped ones and the user's), what a config file may not do (the trust
boundary), and building the model and the inputs it names. Imports only
``runner.core`` and the standard packages; the stages above import it.
"""
