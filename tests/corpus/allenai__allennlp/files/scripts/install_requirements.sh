#!/bin/bash
pip install -r requirements.txt
if [ "$INSTALL_TEST_REQUIREMENTS" == "true" ]; then
    pip install -r requirements_test.txt
fi
python -m spacy download en_core_web_sm
